using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Api;

/// <summary>
/// The pull protocol runtime-shims use (see <see cref="PullProtocol"/>): next, result, release. With a cluster key
/// configured every request must carry the function version's credential (401 without, 403 for another function's),
/// and results and releases name the lease they are for. The HTTP transport (credentials, lease headers, JSON, the
/// long poll's response) over <see cref="PullCore"/>, which hands out, completes and releases.
/// </summary>
public sealed partial class PullEndpoints(
    FunctionRegistry functions,
    IInvocationQueue queue,
    PullCore core,
    GatewayOptions options,
    ILogger<PullEndpoints> logger)
{
    private const long MaxResultBytes = 16 * 1024 * 1024;

    /// <summary>Bound of <see cref="expectedCredentials"/>: past it the cache starts over (paths name any version, real or not).</summary>
    private const int MaxCachedCredentials = 4096;

    /// <summary>
    /// The credential each function version must present, derived once (an HMAC per pull request was ~1.5 % of the
    /// gateway's CPU under load, issue #19). Keyed by the version, never by what was presented.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Ns, string Name, string Version), byte[]> expectedCredentials = new();
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet(PullProtocol.Prefix + "/functions/{ns}/{name}/versions/{version}/next",
            (string ns, string name, string version, HttpContext context, PullEndpoints api) => api.NextAsync(new FunctionKey(ns, name), version, context));
        app.MapPost(PullProtocol.Prefix + "/invocations/{requestId}/result",
            (string requestId, HttpContext context, PullEndpoints api) => api.ResultAsync(requestId, context));
        app.MapPost(PullProtocol.Prefix + "/invocations/{requestId}/stream",
            (string requestId, HttpContext context, Streaming.StreamReceiveEndpoint api) => api.ReceiveAsync(requestId, context));
        app.MapPost(PullProtocol.Prefix + "/invocations/{requestId}/release",
            (string requestId, HttpContext context, PullEndpoints api) => api.ReleaseAsync(requestId, context));
    }

    public async Task NextAsync(FunctionKey key, string version, HttpContext context)
    {
        if (Authorize(context, key.Namespace, key.Name, version) is { } refused)
        {
            await refused.ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (!functions.HasVersion(key, version))
        {
            context.Response.StatusCode = StatusCodes.Status410Gone;
            return;
        }

        using (core.BeginPoll(key, version))
        {
            var waitMs = int.TryParse(context.Request.Query["waitMs"], out var w) ? w : 20_000;
            await HandOutAsync(key, version, waitMs, context, StatusCodes.Status204NoContent).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits up to <paramref name="waitMs"/> (at most MaxPullWait) for an invocation and writes it: status, headers and
    /// JSON body with its Content-Length in one write. Nothing within the wait is <paramref name="emptyStatus"/> with no
    /// body (204 for `next`; 200 for a result that asked for its next). An invocation whose write fails goes back to the queue.
    /// </summary>
    private async Task HandOutAsync(FunctionKey key, string version, int waitMs, HttpContext context, int emptyStatus)
    {
        var ct = context.RequestAborted;
        if (await core.NextAsync(key, version, waitMs, InstanceLeases.InstanceOf(context), ct).ConfigureAwait(false) is not { } invocation)
        {
            context.Response.StatusCode = emptyStatus;
            if (emptyStatus == StatusCodes.Status200OK)
            {
                context.Response.ContentLength = 0;
            }

            return;
        }

        // Serialised up front and written with the end of the response (issue #19): headers, body and the end of the
        // response go out in one write, with a Content-Length (no chunk framing, no flush of its own for the headers).
        var body = JsonSerializer.SerializeToUtf8Bytes(invocation, Json);
        try
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, ct).ConfigureAwait(false);
            await context.Response.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            await core.HandOutFailedAsync(invocation).ConfigureAwait(false);
        }
    }

    public async Task<IResult> ResultAsync(string requestId, HttpContext context)
    {
        var body = await RequestBody.ReadAsync(context.Request, MaxResultBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return LambdaErrors.TooLarge(MaxResultBytes);
        }

        InvocationResult? result;
        try
        {
            result = JsonSerializer.Deserialize<InvocationResult>(body, Json);
        }
        catch (JsonException ex)
        {
            return LambdaErrors.InvalidContent($"Invalid invocation result: {ex.Message}");
        }

        if (result is null || result.RequestId != requestId)
        {
            return LambdaErrors.InvalidContent("The result's requestId must match the path.");
        }

        // The result must be recorded even if the worker hangs up now: it is the only copy.
        var (lease, refused) = await AuthorizeLeaseAsync(requestId, context, CancellationToken.None).ConfigureAwait(false);
        if (refused is not null)
        {
            return refused;
        }

        if (await core.CompleteAsync(requestId, lease, result).ConfigureAwait(false) is not { } completed)
        {
            return NotInFlight(requestId);
        }

        // "next=N": the worker takes another invocation of the same version; this response is its long poll (one
        // exchange per invocation instead of two). The lease check above authorized the credential for that version.
        return int.TryParse(context.Request.Query[PullProtocol.NextAfterResultParameter], out var waitMs)
            && functions.HasVersion(new FunctionKey(completed.Namespace, completed.FunctionName), completed.Version)
            ? new ResultThenNext(this, new FunctionKey(completed.Namespace, completed.FunctionName), completed.Version, waitMs)
            : Results.StatusCode(StatusCodes.Status202Accepted);
    }

    /// <summary>
    /// The answer of a result that asked for its next, held until there is something to say (issue #19): 200 with the
    /// next invocation when it comes, or an empty 200 when the wait ends — one write either way, no headers sent early
    /// (each write wakes the shim). The result is recorded before this runs; a worker that loses the connection during
    /// the hold does not know that and posts the result again plainly (404: it was recorded).
    /// </summary>
    private sealed class ResultThenNext(PullEndpoints api, FunctionKey key, string version, int waitMs) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            await api.HoldForNextAsync(key, version, waitMs, httpContext).ConfigureAwait(false);
        }
    }

    private async Task HoldForNextAsync(FunctionKey key, string version, int waitMs, HttpContext context)
    {
        using (core.BeginPoll(key, version))
        {
            await HandOutAsync(key, version, waitMs, context, StatusCodes.Status200OK).ConfigureAwait(false);
        }
    }

    public async Task<IResult> ReleaseAsync(string requestId, HttpContext context)
    {
        var (lease, refused) = await AuthorizeLeaseAsync(requestId, context, context.RequestAborted).ConfigureAwait(false);
        if (refused is not null)
        {
            return refused;
        }

        return await core.ReleaseAsync(requestId, lease, context.RequestAborted).ConfigureAwait(false) ? Results.StatusCode(202) : NotInFlight(requestId);
    }

    /// <summary>Null when the request may act for the function version; else 401 (no credential) or 403 (another function's).</summary>
    private IResult? Authorize(HttpContext context, string ns, string name, string version)
    {
        if (options.ClusterKey is not { } clusterKey)
        {
            return null;
        }

        string? presented = context.Request.Headers[PullProtocol.CredentialHeader];
        if (string.IsNullOrEmpty(presented))
        {
            LogRefused(logger, "no credential", ns, name, version);
            return LambdaErrors.Error(401, "UnauthorizedException", $"The pull protocol needs the function version's credential in {PullProtocol.CredentialHeader}.");
        }

        if (!CredentialMatches(clusterKey, ns, name, version, presented))
        {
            LogRefused(logger, "credential of another function version", ns, name, version);
            return LambdaErrors.Error(403, "AccessDeniedException", "The credential is not valid for this function version.");
        }

        return null;
    }

    /// <summary>Constant-time comparison with the version's credential (<see cref="PullProtocol.Verify"/>, the HMAC cached).</summary>
    private bool CredentialMatches(byte[] clusterKey, string ns, string name, string version, string presented)
    {
        var key = (ns, name, version);
        if (!expectedCredentials.TryGetValue(key, out var expected))
        {
            if (expectedCredentials.Count >= MaxCachedCredentials)
            {
                expectedCredentials.Clear();
            }

            expected = System.Text.Encoding.ASCII.GetBytes(PullProtocol.Credential(clusterKey, ns, name, version));
            expectedCredentials[key] = expected;
        }

        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(expected, System.Text.Encoding.ASCII.GetBytes(presented));
    }

    /// <summary>The lease token of a result or release, checked against the invocation's function version (404 first, so nothing leaks).</summary>
    private async Task<(string Lease, IResult? Refused)> AuthorizeLeaseAsync(string requestId, HttpContext context, CancellationToken cancellationToken)
    {
        string lease = context.Request.Headers[PullProtocol.LeaseTokenHeader].FirstOrDefault() ?? "";
        if (options.ClusterKey is null)
        {
            return (lease, null);
        }

        if (string.IsNullOrEmpty(context.Request.Headers[PullProtocol.CredentialHeader]))
        {
            return (lease, Authorize(context, "", "", ""));
        }

        var invocation = await queue.GetInFlightAsync(requestId, lease, cancellationToken).ConfigureAwait(false);
        if (invocation is null)
        {
            return (lease, NotInFlight(requestId));
        }

        return (lease, Authorize(context, invocation.Namespace, invocation.FunctionName, invocation.Version));
    }

    private static IResult NotInFlight(string requestId) =>
        LambdaErrors.Error(404, "ResourceNotFoundException", $"Invocation {requestId} is not in flight (completed, released or its lease expired).");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused pull protocol request reason={Reason} namespace={Namespace} function={Function} version={Version}")]
    private static partial void LogRefused(ILogger logger, string reason, string @namespace, string function, string version);
}
