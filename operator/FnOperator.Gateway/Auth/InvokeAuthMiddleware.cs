using System.Buffers;
using System.Security.Cryptography;
using FnOperator.Gateway.Api;
using FnOperator.Gateway.Functions;
using Microsoft.AspNetCore.Http.Features;

namespace FnOperator.Gateway.Auth;

/// <summary>
/// Authenticates every Lambda API request (SigV4 header or presigned query, or a bearer ServiceAccount token) and, in
/// required mode, authorizes it with a SubjectAccessReview. The pull protocol and destination queues (/_fnop/…),
/// /healthz, /readyz and /metrics are not touched: they have their own credentials or none.
/// </summary>
public sealed partial class InvokeAuthMiddleware(
    AuthOptions options,
    GatewayOptions gateway,
    IServiceProvider services,
    FailureLimiter limiter,
    AuthMetrics metrics,
    FunctionRegistry functions,
    TimeProvider time,
    ILogger<InvokeAuthMiddleware> logger)
{
    private readonly SigV4Verifier? verifier = services.GetService<IAccessKeyStore>() is { } keys
        ? new SigV4Verifier(new SigV4Settings(gateway.Region) { MaxSkew = options.MaxSkew, AllowUnsignedPayload = options.AllowUnsignedPayload }, keys)
        : null;

    private readonly ITokenReviewer? tokens = services.GetService<ITokenReviewer>();
    private readonly IInvokeAuthorizer? authorizer = options.Mode == AuthMode.Required ? services.GetService<IInvokeAuthorizer>() : null;

    public static bool IsProtected(PathString path) =>
        !path.StartsWithSegments("/_fnop") && !path.StartsWithSegments("/healthz") && !path.StartsWithSegments("/readyz") && !path.StartsWithSegments("/metrics");

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (!IsProtected(context.Request.Path))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var source = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (limiter.IsBlocked(source))
        {
            metrics.Denied("none", "TooManyRequestsException");
            await AuthErrors.TooManyFailures().ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var operation = LambdaOperations.Match(context.Request.Method, context.Request.Path.Value ?? "", functions);
        var (caller, failure) = await AuthenticateAsync(context, operation).ConfigureAwait(false);
        if (failure is not null)
        {
            await failure.ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (caller is null)
        {
            return; // the response (413) was written
        }

        if (authorizer is not null && operation is not null && caller.Method != "anonymous" && !IsAnonymousInvoke(operation))
        {
            var (allowed, reason) = await authorizer.AuthorizeAsync(caller, operation, context.RequestAborted).ConfigureAwait(false);
            if (!allowed)
            {
                metrics.Denied(caller.Method, AuthErrors.AccessDenied);
                LogDenied(logger, caller.UserName, operation.Verb, operation.Resource, operation.Namespace ?? "", operation.Name ?? "");
                await AuthErrors.Denied(caller, operation, reason).ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
        }

        metrics.Allowed(caller.Method);
        await next(context).ConfigureAwait(false);
    }

    private async Task<(CallerIdentity? Caller, IResult? Failure)> AuthenticateAsync(HttpContext context, LambdaOperation? operation)
    {
        var request = ToSignedRequest(context);
        var authorization = request.Header("Authorization");
        var source = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        string method, errorType, message;
        if (request.IsSigV4 && verifier is not null)
        {
            method = "sigv4";
            if (request.Header("X-Amz-Security-Token") is not null || request.RawQuery.Contains("X-Amz-Security-Token=", StringComparison.Ordinal))
            {
                (errorType, message) = (AuthErrors.UnrecognizedClient, AuthErrors.UnrecognizedClientMessage);
            }
            else
            {
                var limit = Math.Max(gateway.MaxSyncPayloadBytes, gateway.MaxAsyncPayloadBytes);
                var bodyHash = await HashBodyAsync(context.Request, limit, context.RequestAborted).ConfigureAwait(false);
                if (bodyHash is null)
                {
                    await LambdaErrors.TooLarge(limit).ExecuteAsync(context).ConfigureAwait(false);
                    return (null, null);
                }

                var result = await verifier.VerifyAsync(request, bodyHash, time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
                if (result.Key is { } key)
                {
                    return (new CallerIdentity(key.UserName, key.Groups, method), null);
                }

                (errorType, message) = (result.ErrorType!, result.Message!);
            }
        }
        else if (tokens is not null && authorization?.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) == true)
        {
            method = "bearer";
            var caller = await tokens.ReviewAsync(authorization[7..].Trim(), context.RequestAborted).ConfigureAwait(false);
            if (caller is not null)
            {
                return (caller, null);
            }

            (errorType, message) = (AuthErrors.UnrecognizedClient, AuthErrors.UnrecognizedClientMessage);
        }
        else if (authorization is null && !request.IsSigV4)
        {
            if (operation is not null && IsAnonymousInvoke(operation))
            {
                return (new CallerIdentity(CallerIdentity.Anonymous, ["system:unauthenticated"], "anonymous"), null);
            }

            metrics.Denied("none", AuthErrors.MissingAuthenticationToken);
            return (null, AuthErrors.Forbidden(AuthErrors.MissingAuthenticationToken, AuthErrors.MissingAuthenticationTokenMessage));
        }
        else
        {
            method = "none";
            (errorType, message) = (AuthErrors.IncompleteSignature, tokens is null
                ? "Unsupported Authorization header: sign the request with AWS Signature Version 4 (AWS4-HMAC-SHA256)."
                : "Unsupported Authorization header: sign the request with AWS Signature Version 4 or send a ServiceAccount token as 'Bearer <token>'.");
        }

        limiter.Failed(source);
        metrics.Denied(method, errorType);
        LogRejected(logger, method, errorType, source, context.Request.Path.Value ?? "");
        return (null, AuthErrors.Forbidden(errorType, message));
    }

    private bool IsAnonymousInvoke(LambdaOperation operation) =>
        operation.Verb == "invoke" && operation.Namespace is { } ns && options.AnonymousNamespaces.Contains(ns, StringComparer.Ordinal);

    private static SignedRequest ToSignedRequest(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (context.Request.PathBase + context.Request.Path + context.Request.QueryString);
        var question = raw.IndexOf('?', StringComparison.Ordinal);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in context.Request.Headers)
        {
            foreach (var value in values)
            {
                headers.Add(KeyValuePair.Create(name, value ?? ""));
            }
        }

        return new SignedRequest(context.Request.Method, question < 0 ? raw : raw[..question], question < 0 ? "" : raw[(question + 1)..], headers);
    }

    /// <summary>Hex SHA-256 of the body, read into a rewindable buffer for the endpoint; null when it exceeds the limit.</summary>
    private static async Task<string?> HashBodyAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        request.EnableBuffering(64 * 1024);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            long total = 0;
            int read;
            while ((read = await request.Body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                total += read;
                if (total > limit)
                {
                    return null;
                }

                hash.AppendData(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        request.Body.Position = 0;
        return SigV4Canonical.Hex(hash.GetHashAndReset());
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected request method={Method} errorType={ErrorType} source={Source} path={Path}")]
    private static partial void LogRejected(ILogger logger, string method, string errorType, string source, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Denied request user={User} verb={Verb} resource={Resource} namespace={Namespace} name={Name}")]
    private static partial void LogDenied(ILogger logger, string user, string verb, string resource, string @namespace, string name);
}
