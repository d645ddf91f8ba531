using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Tests.Support;

/// <summary>
/// Stands in for a runtime-shim: pulls invocations over the pull protocol (real HTTP) and answers with the handler's
/// result. A handler returning null makes the worker "die" with the invocation: it never answers it.
/// </summary>
public sealed class TestWorker : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly HttpClient _client;

    public TestWorker(Uri gateway, FunctionKey key, Func<Invocation, InvocationResult?> handler, int concurrency = 1, string version = FunctionRegistry.Latest)
        : this(gateway, key, inv => Task.FromResult(handler(inv)), concurrency, version)
    {
    }

    private TestWorker(Uri gateway, FunctionKey key, Func<Invocation, Task<InvocationResult?>> handler, int concurrency, string version)
    {
        _client = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromMinutes(2) };
        _client.DefaultRequestHeaders.Add(PullProtocol.CredentialHeader, PullProtocol.Credential(TestGateway.ClusterKey, key.Namespace, key.Name, version));
        for (var i = 0; i < concurrency; i++)
        {
            _loops.Add(Task.Run(() => LoopAsync(key, version, handler, _stop.Token)));
        }
    }

    /// <summary>A worker whose handler takes time without holding a thread (a busy thread pool cannot then starve the gateway's timers).</summary>
    public static TestWorker WithAsyncHandler(Uri gateway, FunctionKey key, Func<Invocation, Task<InvocationResult?>> handler, int concurrency = 1, string version = FunctionRegistry.Latest) =>
        new(gateway, key, handler, concurrency, version);

    /// <summary>Every invocation this worker received, in order.</summary>
    public ConcurrentQueue<Invocation> Received { get; } = new();

    public static InvocationResult Ok(Invocation invocation, string payload, string? logTail = null) => new()
    {
        RequestId = invocation.RequestId,
        Outcome = InvocationOutcome.Success,
        Payload = Encoding.UTF8.GetBytes(payload),
        ExecutedVersion = invocation.Version,
        LogTail = logTail,
        DurationMs = 1.5,
    };

    public static InvocationResult Fail(Invocation invocation, string message = "boom", string errorType = "Error") => new()
    {
        RequestId = invocation.RequestId,
        Outcome = InvocationOutcome.FunctionError,
        FunctionError = "Unhandled",
        ErrorType = errorType,
        Payload = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { errorMessage = message, errorType })),
        ExecutedVersion = invocation.Version,
    };

    /// <summary>Answers with the request payload.</summary>
    public static InvocationResult Echo(Invocation invocation) => Ok(invocation, Encoding.UTF8.GetString(invocation.Payload));

    private async Task LoopAsync(FunctionKey key, string version, Func<Invocation, Task<InvocationResult?>> handler, CancellationToken ct)
    {
        var next = PullProtocol.NextPath(key.Namespace, key.Name, version) + "?waitMs=1000";
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var response = await _client.GetAsync(next, ct).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    if (response.StatusCode != HttpStatusCode.NoContent)
                    {
                        await Task.Delay(100, ct).ConfigureAwait(false);
                    }

                    continue;
                }

                var invocation = (await response.Content.ReadFromJsonAsync<Invocation>(Json, ct).ConfigureAwait(false))!;
                Received.Enqueue(invocation);
                var result = await handler(invocation).ConfigureAwait(false);
                if (result is null)
                {
                    continue;
                }

                using var post = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(invocation.RequestId)) { Content = JsonContent.Create(result, options: Json) };
                post.Headers.Add(PullProtocol.LeaseTokenHeader, invocation.LeaseToken);
                using var posted = await _client.SendAsync(post, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _client.Dispose();
        _stop.Dispose();
    }
}
