using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>
/// <see cref="IInvocationSource"/> over the gateway's HTTP pull protocol (<see cref="PullProtocol"/>): long-polls `next`,
/// posts results and releases with the lease token of each invocation. Connection failures are retried with backoff;
/// a 410 closes the source, and so do 401/403 (a wrong credential does not fix itself). The function version's pull
/// credential is read once from the file named by <see cref="PullProtocol.CredentialFileEnv"/>; the runtime's
/// environment never holds it (FNOP_* is stripped). docs/security.md says what the function's own code can still read.
/// </summary>
public sealed partial class PullInvocationSource(
    HttpClient http, ShimOptions options, ILogger<PullInvocationSource> logger, IHostApplicationLifetime lifetime) : IInvocationSource
{
    /// <summary>
    /// Invocations that came in the answer to a result (<see cref="PullProtocol.NextAfterResultParameter"/>), for the next
    /// <see cref="NextAsync"/>; released to the gateway when the shim stops first (whoever dequeues one owns it).
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentQueue<Invocation> _held = new();

    /// <summary>1 once the release of held invocations is registered on the shim's stop (registered once, on first use).</summary>
    private int _releaseOnStop;

    private readonly string? _credential = ReadCredential(Environment.GetEnvironmentVariable(PullProtocol.CredentialFileEnv));
    private readonly string? _instance = Environment.GetEnvironmentVariable(PullProtocol.InstanceEnv); // the pod's name: the gateway knows who is busy

    private const int WaitMs = 20_000;
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private const int PostAttempts = 8;
    private readonly string _nextPath = PullProtocol.NextPath(options.FunctionNamespace, options.FunctionName, options.FunctionVersion) + $"?waitMs={WaitMs}";

    public async ValueTask<Invocation?> NextAsync(CancellationToken cancellationToken)
    {
        if (_held.TryDequeue(out var held))
        {
            return held;
        }

        var failures = 0;
        while (true)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromMilliseconds(WaitMs) + TimeSpan.FromSeconds(30));
                using var request = Request(HttpMethod.Get, _nextPath, null, null);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                switch (response.StatusCode)
                {
                    case HttpStatusCode.OK:
                        var invocation = await response.Content.ReadFromJsonAsync(ShimJson.Default.Invocation, timeout.Token).ConfigureAwait(false);
                        if (invocation is not null)
                        {
                            return invocation;
                        }

                        LogBadInvocation(logger, "empty body");
                        continue;
                    case HttpStatusCode.NoContent:
                        failures = 0;
                        continue;
                    case HttpStatusCode.Gone:
                        LogSourceClosed(logger);
                        return null;
                    case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                        // A wrong or missing credential does not fix itself: close the source (the shim exits, the pod restarts).
                        LogRefused(logger, (int)response.StatusCode);
                        return null;
                    default:
                        LogUnexpectedStatus(logger, "next", (int)response.StatusCode);
                        break;
                }
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or NotSupportedException
                || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                LogPollFailed(logger, e.Message);
            }

            // Jittered: the shims of a restarted gateway do not all come back at the same instant.
            await Task.Delay(Backoff.Jittered(++failures, FirstRetry, MaxBackoff), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Posts the result; its answer is the long poll for the next invocation (one exchange per invocation instead of
    /// two), held for <see cref="NextAsync"/>. While the shim stops, or with an invocation already held, a plain post.
    /// </summary>
    public async ValueTask CompleteAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested || !_held.IsEmpty)
        {
            await PostAsync(PullProtocol.ResultPath(invocation.RequestId), invocation.LeaseToken, result, "result", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (await PostResultTakingNextAsync(invocation, result, cancellationToken).ConfigureAwait(false) is { } next)
        {
            _held.Enqueue(next);
            if (Interlocked.Exchange(ref _releaseOnStop, 1) == 0)
            {
                lifetime.ApplicationStopping.Register(static s => _ = ((PullInvocationSource)s!).ReleaseHeldAsync(), this);
            }

            if (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                await ReleaseHeldAsync().ConfigureAwait(false);
            }
        }
    }

    public ValueTask ReleaseAsync(Invocation invocation, CancellationToken cancellationToken) =>
        PostAsync(PullProtocol.ReleasePath(invocation.RequestId), invocation.LeaseToken, null, "release", cancellationToken);

    /// <summary>Reads the credential file (null when unset: a gateway without pull authentication).</summary>
    internal static string? ReadCredential(string? path)
    {
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return null;
        }

        var credential = File.ReadAllText(path).Trim();
        return credential.Length > 0 ? credential : null;
    }

    private HttpRequestMessage Request(HttpMethod method, string path, string? leaseToken, InvocationResult? result)
    {
        var request = new HttpRequestMessage(method, path) { Content = result is null ? null : ResultContent(result) };
        if (_credential is not null)
        {
            request.Headers.TryAddWithoutValidation(PullProtocol.CredentialHeader, _credential);
        }

        if (!string.IsNullOrEmpty(_instance))
        {
            request.Headers.TryAddWithoutValidation(PullProtocol.InstanceHeader, _instance);
        }

        if (leaseToken is not null)
        {
            request.Headers.TryAddWithoutValidation(PullProtocol.LeaseTokenHeader, leaseToken);
        }

        return request;
    }

    /// <summary>
    /// The result serialised up front, sent with its Content-Length: one write of headers and body (a JsonContent has no
    /// length, so it went chunked: body and terminating chunk in writes of their own) and the gateway reads it straight
    /// into an array of that size (RequestBody).
    /// </summary>
    private static ByteArrayContent ResultContent(InvocationResult result)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(result, ShimJson.Default.InvocationResult));
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
        return content;
    }

    /// <summary>
    /// The result POST with <see cref="PullProtocol.NextAfterResultParameter"/>: a 200 says the result is recorded and its
    /// body brings the next invocation or nothing. The gateway holds the whole answer until it has the next invocation
    /// or the wait ends (one write, issue #19; an older gateway sent the 200's headers first), so until it comes the
    /// shim does not know whether the result was recorded: a failure before the answer (a cut connection, the gateway
    /// stopping, the shim stopping) posts the result again plainly (<see cref="PostAsync"/>, its retries; a 404 there
    /// says the first post was recorded). A body cut off is dropped: the gateway released that invocation when its write
    /// failed, or its lease expires and it is handed out again.
    /// </summary>
    private async ValueTask<Invocation?> PostResultTakingNextAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken)
    {
        var path = PullProtocol.ResultPath(invocation.RequestId);
        using var hold = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        hold.CancelAfter(TimeSpan.FromMilliseconds(WaitMs) + TimeSpan.FromSeconds(30));
        HttpResponseMessage response;
        try
        {
            using var request = Request(HttpMethod.Post, $"{path}?{PullProtocol.NextAfterResultParameter}={WaitMs}", invocation.LeaseToken, result);
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, hold.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Not known whether it was recorded: post it again, plainly (a 404 then says the first one was).
            if (e is HttpRequestException)
            {
                LogPollFailed(logger, e.Message);
            }

            await PostAsync(path, invocation.LeaseToken, result, "result", cancellationToken, repost: true).ConfigureAwait(false);
            return null;
        }

        using (response)
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    break;
                case HttpStatusCode.NotFound:
                    LogNotInFlight(logger, "result", path);
                    return null;
                case >= HttpStatusCode.InternalServerError:
                    LogUnexpectedStatus(logger, "result", (int)response.StatusCode);
                    await PostAsync(path, invocation.LeaseToken, result, "result", cancellationToken).ConfigureAwait(false);
                    return null;
                default:
                    if (!response.IsSuccessStatusCode)
                    {
                        LogUnexpectedStatus(logger, "result", (int)response.StatusCode);
                    }

                    return null;
            }

            try
            {
                var body = await response.Content.ReadAsByteArrayAsync(hold.Token).ConfigureAwait(false);
                return body.Length == 0 ? null : JsonSerializer.Deserialize(body, ShimJson.Default.Invocation);
            }
            catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                return null; // stopping: the gateway releases what it could not write
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException or OperationCanceledException)
            {
                LogPollFailed(logger, e.Message);
                return null;
            }
        }
    }

    /// <summary>Hands every held invocation back to the gateway (the shim is stopping).</summary>
    private async Task ReleaseHeldAsync()
    {
        while (_held.TryDequeue(out var held))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await ReleaseAsync(held, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                LogPollFailed(logger, "release of a held invocation timed out");
            }
        }
    }

    /// <summary>
    /// Posts with a few retries on connection errors; 404 (no longer in flight) is logged, not retried. With
    /// <paramref name="repost"/> (a result posted again because the answer to its first post never came) a 404 is the
    /// expected answer, that first post was recorded, and is logged at Debug.
    /// </summary>
    private async ValueTask PostAsync(string path, string? leaseToken, InvocationResult? result, string what, CancellationToken cancellationToken, bool repost = false)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var request = Request(HttpMethod.Post, path, leaseToken, result);
                using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    if (repost)
                    {
                        LogRepostRecorded(logger, path);
                    }
                    else
                    {
                        LogNotInFlight(logger, what, path);
                    }

                    return;
                }

                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                LogUnexpectedStatus(logger, what, (int)response.StatusCode);
                if ((int)response.StatusCode < 500)
                {
                    return;
                }
            }
            catch (HttpRequestException e) when (attempt < PostAttempts)
            {
                LogPollFailed(logger, e.Message);
            }

            if (attempt >= PostAttempts)
            {
                return;
            }

            // Not jittered: the bounded attempts span a fixed 16 s (0.2 s doubling to 5 s), a gateway restart's worth.
            await Task.Delay(Backoff.Exponential(attempt, FirstRetry, MaxBackoff), cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invocation source request failed, error={Error}")]
    private static partial void LogPollFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invocation source answered {Operation} with unexpected status={Status}")]
    private static partial void LogUnexpectedStatus(ILogger logger, string operation, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Received unusable invocation, reason={Reason}")]
    private static partial void LogBadInvocation(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Invocation source refused the pull credential status={Status}; closing the source")]
    private static partial void LogRefused(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Invocation source closed (410 Gone)")]
    private static partial void LogSourceClosed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Result posted again after its held answer was lost: the first post had been recorded, path={Path}")]
    private static partial void LogRepostRecorded(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invocation no longer in flight at the source, operation={Operation} path={Path}")]
    private static partial void LogNotInFlight(ILogger logger, string operation, string path);
}
