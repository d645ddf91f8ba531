using System.Text;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Metrics;
using FnOperator.Gateway.Streaming;
using Microsoft.AspNetCore.Http.Features;

namespace FnOperator.Gateway.Urls;

/// <summary>
/// The Function URL endpoint (docs/function-urls.md): a middleware ahead of the Invoke API's auth that takes requests
/// for a URL host (<c>{function}.{namespace}.{UrlDomain}</c>) or the path <c>/url/{namespace}/{function}/…</c>, builds
/// the event, runs it through the Invoke API's sync path (<see cref="InvokeEndpoints.RunSyncAsync"/>: the same
/// admission budget, reserved-concurrency gate, queue and wait) and maps the result to the HTTP response.
/// </summary>
public sealed partial class UrlEndpoint(
    FunctionRegistry functions,
    InvokeEndpoints invoke,
    AdmissionBudget budget,
    GatewayMetrics metrics,
    GatewayOptions options,
    UrlAuth auth,
    TimeProvider time,
    IServiceProvider services,
    ILogger<UrlEndpoint> logger)
{
    /// <summary>Lambda's body for a function error, an unhandled exception, a timeout or an unusable response (status 502).</summary>
    public const string InternalServerError = "Internal Server Error";

    /// <remarks>Not a URL request: straight on to the next middleware, with no async frame of its own (issue #19).</remarks>
    public Task InvokeAsync(HttpContext context, RequestDelegate next) =>
        UrlRoute.Match(context, options.UrlDomain) is { } route ? ServeUrlAsync(context, route) : next(context);

    private async Task ServeUrlAsync(HttpContext context, UrlRoute route)
    {
        var result = await ServeAsync(context, route).ConfigureAwait(false);
        if (result is not null)
        {
            await result.ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    private async Task<IResult?> ServeAsync(HttpContext context, UrlRoute route)
    {
        var requestId = Guid.NewGuid().ToString();
        var request = context.Request;
        context.Response.Headers[LambdaErrors.RequestIdHeader] = requestId;
        if (!functions.TryGet(route.Key, out var latest) || UrlConfig.For(latest, options.UrlForEveryFunction) is not { } config)
        {
            metrics.Rejected("AccessDeniedException");
            return LambdaErrors.Error(403, "AccessDeniedException",
                $"No Function URL here: function {route.Key.Name} in namespace {route.Key.Namespace} does not exist or has no spec.url.");
        }

        if (config.Cors is { } cors && UrlCors.IsPreflight(request))
        {
            return new Answer(200, UrlCors.Preflight(cors, request), []);
        }

        if (!functions.TryResolve($"{route.Key.Namespace}/{route.Key.Name}", config.Qualifier, out var fn))
        {
            metrics.Rejected("AccessDeniedException");
            return LambdaErrors.Error(403, "AccessDeniedException",
                $"No Function URL here: the URL's qualifier '{config.Qualifier}' is not an alias of {route.Key.Namespace}/{route.Key.Name}.");
        }

        var limit = options.MaxSyncPayloadBytes;
        // A request that cannot have a body (a GET without Content-Length or chunking) reserves nothing; others as the Invoke API.
        var reserved = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false ? 0 : RequestBody.Reservation(request, limit);
        if (!budget.TryReserve(InvocationType.RequestResponse, fn.Key, reserved))
        {
            metrics.Throttled(fn.Key, InvokeEndpoints.ConcurrentLimitReason);
            return LambdaErrors.TooManyRequests(InvokeEndpoints.ConcurrentLimitReason);
        }

        try
        {
            return await RunAsync(context, route, config, fn, requestId, limit).ConfigureAwait(false);
        }
        finally
        {
            budget.Release(InvocationType.RequestResponse, fn.Key, reserved);
        }
    }

    private async Task<IResult?> RunAsync(HttpContext context, UrlRoute route, UrlConfig config, ResolvedFunction fn, string requestId, long limit)
    {
        var request = context.Request;
        var body = await RequestBody.ReadAsync(request, limit, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            metrics.Rejected("RequestTooLargeException");
            return LambdaErrors.TooLarge(limit);
        }

        UrlCaller? caller = null;
        if (config.AuthType == FunctionUrls.AuthIam)
        {
            (caller, var failure) = await auth.AuthenticateAsync(context, fn.Key, fn.FunctionArn, body).ConfigureAwait(false);
            if (failure is not null)
            {
                metrics.Rejected("AccessDeniedException");
                return failure;
            }
        }

        var now = time.GetUtcNow();
        var traceId = request.Headers["X-Amzn-Trace-Id"].FirstOrDefault() ?? invoke.NewTraceId();
        var urlRequest = UrlRequest.From(context, route, body, requestId, now, traceId);
        var payload = Encoding.UTF8.GetBytes(UrlEvents.Build(config.PayloadFormat, urlRequest, fn.Key.Name, functions.AccountId, functions.Region, caller).ToJsonString());
        if (payload.Length > limit)
        {
            // The event (a binary body grows by a third in base64) is what Lambda's 6 MB limit applies to.
            metrics.Rejected("RequestTooLargeException");
            return LambdaErrors.TooLarge(limit);
        }

        var invocation = new Invocation
        {
            RequestId = requestId,
            Namespace = fn.Key.Namespace,
            FunctionName = fn.Key.Name,
            Version = fn.Version,
            InvokedFunctionArn = fn.InvokedFunctionArn,
            Type = InvocationType.RequestResponse,
            Payload = payload,
            TraceId = traceId,
            AcceptedAt = now,
        };
        var corsHeaders = config.Cors is { } cors ? UrlCors.ForResponse(cors, request) : [];
        if (config.InvokeMode == FunctionUrls.ResponseStream)
        {
            return await StreamAsync(context, invocation, corsHeaders).ConfigureAwait(false);
        }

        var outcome = await invoke.RunSyncAsync(fn, invocation, context.RequestAborted).ConfigureAwait(false);
        if (outcome.ThrottleReason is { } reason)
        {
            return LambdaErrors.TooManyRequests(reason, outcome.ThrottleMessage ?? "Rate Exceeded.");
        }

        if (outcome.Result is not { } result)
        {
            return null; // the client went away
        }

        context.Response.Headers["X-Amz-Executed-Version"] = result.ExecutedVersion;
        if (result.Outcome == InvocationOutcome.FunctionError)
        {
            LogFunctionError(logger, fn.Key.Namespace, fn.Key.Name, requestId, result.ErrorType ?? "");
            return BadGateway(corsHeaders);
        }

        if (result.Payload.Length > limit)
        {
            LogMalformed(logger, fn.Key.Namespace, fn.Key.Name, requestId, $"the response is {result.Payload.Length} bytes, over the {limit}-byte limit");
            return BadGateway(corsHeaders);
        }

        if (UrlResponses.Map(config.PayloadFormat, result.Payload, out var problem) is not { } mapped)
        {
            LogMalformed(logger, fn.Key.Namespace, fn.Key.Name, requestId, problem ?? "");
            return BadGateway(corsHeaders);
        }

        var headers = config.Cors is null ? mapped.Headers : mapped.Headers.Where(h => !UrlCors.IsCorsHeader(h.Key)).Concat(corsHeaders).ToList();
        return new Answer(mapped.StatusCode, headers, mapped.Body);
    }

    private async Task<IResult?> StreamAsync(HttpContext context, Invocation invocation, IReadOnlyList<KeyValuePair<string, string>> corsHeaders)
    {
        var responder = services.GetRequiredService<IStreamingUrlResponder>();
        var extra = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in corsHeaders)
        {
            extra[name] = value;
        }

        await responder.RespondAsync(context, invocation, extra, context.RequestAborted).ConfigureAwait(false);
        return null;
    }

    private static Answer BadGateway(IReadOnlyList<KeyValuePair<string, string>> corsHeaders) =>
        new(502, [KeyValuePair.Create("Content-Type", "text/plain; charset=utf-8"), .. corsHeaders], Encoding.UTF8.GetBytes(InternalServerError));

    /// <summary>A mapped response: status, headers in order (repeats allowed, e.g. Set-Cookie), body.</summary>
    private sealed class Answer(int status, IReadOnlyList<KeyValuePair<string, string>> headers, byte[] body) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = status;
            foreach (var group in headers.GroupBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
            {
                response.Headers[group.Key] = group.Select(h => h.Value).ToArray();
            }

            response.ContentLength = body.Length;
            if (body.Length > 0 && !HttpMethods.IsHead(httpContext.Request.Method))
            {
                await response.Body.WriteAsync(body, httpContext.RequestAborted).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Answered 502 for a function error namespace={Namespace} function={Function} requestId={RequestId} errorType={ErrorType}")]
    private static partial void LogFunctionError(ILogger logger, string @namespace, string function, string requestId, string errorType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered 502 for an unusable function response namespace={Namespace} function={Function} requestId={RequestId} problem={Problem}")]
    private static partial void LogMalformed(ILogger logger, string @namespace, string function, string requestId, string problem);
}
