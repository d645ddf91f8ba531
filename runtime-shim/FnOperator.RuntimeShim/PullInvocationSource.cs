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
public sealed partial class PullInvocationSource(HttpClient http, ShimOptions options, ILogger<PullInvocationSource> logger) : IInvocationSource
{
    private readonly string? _credential = ReadCredential(Environment.GetEnvironmentVariable(PullProtocol.CredentialFileEnv));
    private readonly string? _instance = Environment.GetEnvironmentVariable(PullProtocol.InstanceEnv); // the pod's name: the gateway knows who is busy

    private const int WaitMs = 20_000;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private readonly string _nextPath = PullProtocol.NextPath(options.FunctionNamespace, options.FunctionName, options.FunctionVersion) + $"?waitMs={WaitMs}";

    public async ValueTask<Invocation?> NextAsync(CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
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
                        backoff = TimeSpan.FromMilliseconds(200);
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

            await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
        }
    }

    public ValueTask CompleteAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken) =>
        PostAsync(PullProtocol.ResultPath(invocation.RequestId), invocation.LeaseToken, result, "result", cancellationToken);

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
        var request = new HttpRequestMessage(method, path) { Content = result is null ? null : JsonContent.Create(result, ShimJson.Default.InvocationResult) };
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

    /// <summary>Posts with a few retries on connection errors; 404 (no longer in flight) is logged, not retried.</summary>
    private async ValueTask PostAsync(string path, string? leaseToken, InvocationResult? result, string what, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var request = Request(HttpMethod.Post, path, leaseToken, result);
                using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    LogNotInFlight(logger, what, path);
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
            catch (HttpRequestException e) when (attempt < 8)
            {
                LogPollFailed(logger, e.Message);
            }

            if (attempt >= 8)
            {
                return;
            }

            await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invocation no longer in flight at the source, operation={Operation} path={Path}")]
    private static partial void LogNotInFlight(ILogger logger, string operation, string path);
}
