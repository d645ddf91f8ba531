using System.Collections.Concurrent;
using System.Text.Json;
using FnOperator.Api;
using k8s;

namespace FnOperator.Benchmarks.Operator;

/// <summary>
/// Counts Functions whose status says Ready for their current generation, from one watch stream (cheap for the API
/// test server, unlike listing 1,000 objects over and over while the operator competes for the same CPU).
/// </summary>
public sealed class ReadyCounter : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, bool> ready = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stop = new();
    private readonly Task watching;

    public ReadyCounter(IKubernetes client, string ns)
    {
        watching = Task.Run(() => WatchAsync(client, ns, stop.Token));
    }

    public int Ready => ready.Count(p => p.Value);

    private async Task WatchAsync(IKubernetes client, string ns, CancellationToken cancellationToken)
    {
        var version = "";
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var events = client.CustomObjects.WatchListNamespacedCustomObjectAsync(
                    ApiGroup.Group, ApiGroup.Version, ns, Function.Plural, resourceVersion: version, allowWatchBookmarks: true,
                    timeoutSeconds: 300, cancellationToken: cancellationToken);
                await foreach (var (type, obj) in events.ConfigureAwait(false))
                {
                    var element = obj is JsonElement e ? e : JsonSerializer.SerializeToElement(obj);
                    var metadata = element.GetProperty("metadata");
                    version = metadata.TryGetProperty("resourceVersion", out var rv) ? rv.GetString() ?? version : version;
                    if (type is WatchEventType.Added or WatchEventType.Modified)
                    {
                        ready[metadata.GetProperty("name").GetString()!] = IsReady(element);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or k8s.Autorest.HttpOperationException)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsReady(JsonElement fn)
    {
        if (!fn.TryGetProperty("status", out var status) || !status.TryGetProperty("conditions", out var conditions) ||
            !status.TryGetProperty("observedGeneration", out var observed) ||
            observed.GetInt64() != fn.GetProperty("metadata").GetProperty("generation").GetInt64())
        {
            return false;
        }

        return conditions.EnumerateArray().Any(c => c.GetProperty("type").GetString() == "Ready" && c.GetProperty("status").GetString() == "True");
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await watching.ContinueWith(_ => { }, TaskScheduler.Default);
        stop.Dispose();
    }
}
