using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Api;

/// <summary>
/// <c>GET /_fnop/v1/work-events</c>: the autoscaler's push channel (server-sent events). Whenever work arrives for a
/// version with nothing in flight (a version at zero, or whose instances are all gone) the gateway sends
/// <c>data: {"namespace":…,"name":…,"version":…}</c>, so the leader can scale it from zero at once instead of at its
/// next stats poll. Built on the queue's <see cref="IInvocationQueue.WorkArrived"/> (with JetStream that includes the
/// other replicas' enqueues, through <c>fnop.work.…</c>). Protected like the stats endpoint (Bearer + inspection
/// credential). Bounds: at most <see cref="MaxSubscribers"/> streams at once (503 beyond), pending work per stream is a
/// set of functions (coalesced, at most <see cref="MaxPendingFunctions"/>), a version is pushed at most once per
/// <see cref="MinInterval"/>, and a comment line every <see cref="Heartbeat"/> lets both sides notice a dead stream.
/// </summary>
public static class WorkEventsEndpoint
{
    public const string Path = FnOperator.Contracts.PullProtocol.Prefix + "/work-events";

    public const int MaxSubscribers = 16;

    public const int MaxPendingFunctions = 10_000;

    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(10);

    /// <summary>How often a function whose work is not visible in the stats yet (a replicated queue's snapshot lags) is looked at again, and how many times.</summary>
    private static readonly TimeSpan RecheckDelay = TimeSpan.FromMilliseconds(20);

    private const int Rechecks = 10;

    /// <summary>Open streams per gateway (keyed by its queue, so several gateways in one process count their own).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IInvocationQueue, System.Runtime.CompilerServices.StrongBox<int>> Subscribers = new();

    public static void Map(IEndpointRouteBuilder app) => app.MapGet(Path, StreamAsync);

    private static async Task StreamAsync(HttpContext context, IInvocationQueue queue)
    {
        var subscribers = Subscribers.GetValue(queue, _ => new System.Runtime.CompilerServices.StrongBox<int>());
        if (Interlocked.Increment(ref subscribers.Value) > MaxSubscribers)
        {
            Interlocked.Decrement(ref subscribers.Value);
            await LambdaErrors.Error(503, "ServiceException", $"At most {MaxSubscribers} work-event streams at once.").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var pending = new ConcurrentDictionary<FunctionKey, int>();
        var signal = new SemaphoreSlim(0, 1);
        void OnArrived(FunctionKey key)
        {
            if (pending.Count < MaxPendingFunctions || pending.ContainsKey(key))
            {
                pending[key] = 0;
            }

            if (signal.CurrentCount == 0)
            {
                try
                {
                    signal.Release();
                }
                catch (SemaphoreFullException)
                {
                    // Already signalled.
                }
            }
        }

        queue.WorkArrived += OnArrived;
        try
        {
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
            await context.Response.WriteAsync(": fnop work events\n\n", context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            var lastPushed = new Dictionary<(FunctionKey, string), long>();
            var lastWrite = Environment.TickCount64;
            var aborted = context.RequestAborted;
            while (!aborted.IsCancellationRequested)
            {
                var wait = pending.IsEmpty ? Heartbeat : RecheckDelay;
                await signal.WaitAsync(wait, aborted).ConfigureAwait(false);
                var text = new StringBuilder();
                var now = Environment.TickCount64;
                foreach (var (key, attempts) in pending)
                {
                    var found = false;
                    foreach (var (version, stats) in queue.GetVersionStats(key))
                    {
                        if (stats.Depth <= 0 || stats.InFlight > 0)
                        {
                            continue;
                        }

                        found = true;
                        if (lastPushed.TryGetValue((key, version), out var at) && now - at < MinInterval.TotalMilliseconds)
                        {
                            continue;
                        }

                        lastPushed[(key, version)] = now;
                        text.Append("data: ").Append(JsonSerializer.Serialize(new WorkEvent(key.Namespace, key.Name, version), WorkEventJson.Default.WorkEvent)).Append("\n\n");
                    }

                    if (found || attempts >= Rechecks)
                    {
                        pending.TryRemove(new KeyValuePair<FunctionKey, int>(key, attempts));
                    }
                    else
                    {
                        pending.TryUpdate(key, attempts + 1, attempts);
                    }
                }

                if (lastPushed.Count > MaxPendingFunctions)
                {
                    lastPushed.Clear();
                }

                if (text.Length == 0 && now - lastWrite >= Heartbeat.TotalMilliseconds)
                {
                    text.Append(": keep-alive\n\n");
                }

                if (text.Length > 0)
                {
                    await context.Response.WriteAsync(text.ToString(), aborted).ConfigureAwait(false);
                    await context.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    lastWrite = now;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The autoscaler went away (or the gateway is stopping).
        }
        finally
        {
            queue.WorkArrived -= OnArrived;
            Interlocked.Decrement(ref subscribers.Value); // the semaphore is not disposed: a handler racing the unsubscribe may still signal it
        }
    }
}

/// <summary>One push of <see cref="WorkEventsEndpoint"/>: a version that has work and nothing in flight.</summary>
public sealed record WorkEvent(
    [property: System.Text.Json.Serialization.JsonPropertyName("namespace")] string Namespace,
    [property: System.Text.Json.Serialization.JsonPropertyName("name")] string Name,
    [property: System.Text.Json.Serialization.JsonPropertyName("version")] string Version);

[System.Text.Json.Serialization.JsonSerializable(typeof(WorkEvent))]
internal sealed partial class WorkEventJson : System.Text.Json.Serialization.JsonSerializerContext;
