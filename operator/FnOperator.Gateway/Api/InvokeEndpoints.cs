using System.Text;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Metrics;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Api;

/// <summary>The Lambda Invoke API: POST /2015-03-31/functions/{FunctionName}/invocations.</summary>
public sealed partial class InvokeEndpoints(
    FunctionRegistry functions,
    IInvocationQueue queue,
    ConcurrencyGate gate,
    GatewayMetrics metrics,
    GatewayOptions options,
    Async.AsyncInvocationProcessor asyncProcessor,
    AdmissionBudget budget,
    TimeProvider time,
    Streaming.ResponseStreams streams,
    ILogger<InvokeEndpoints> logger)
{
    public const string ReservedLimitReason = "ReservedFunctionConcurrentInvocationLimitExceeded";
    public const string ConcurrentLimitReason = "ConcurrentInvocationLimitExceeded";

    /// <summary>The reason a 429 carries when the async byte budget is spent (Lambda's closest throttle reason).</summary>
    public const string AsyncBudgetReason = "FunctionInvocationRateLimitExceeded";
    private const int LogTailBytes = 4096;

    /// <summary>A sync invocation whose worker died is handed out at most this many times before the caller gets a timeout.</summary>
    private const int MaxSyncDeliveries = 3;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/2015-03-31/functions/{functionName}/invocations",
            (string functionName, HttpContext context, InvokeEndpoints api) => api.InvokeAsync(functionName, context));
        app.MapPost("/2015-03-31/functions/{ns}/{functionName}/invocations",
            (string ns, string functionName, HttpContext context, InvokeEndpoints api) => api.InvokeAsync($"{ns}/{functionName}", context));
    }

    /// <summary>
    /// A RequestResponse invocation already built (a RESPONSE_STREAM Function URL's event) answered as a stream: the
    /// same gate, waiting bound, queue and lease-bounded wait as a sync invoke.
    /// </summary>
    public Task<IResult> InvokeStreamingAsync(ResolvedFunction fn, Invocation invocation, HttpContext context, Streaming.IStreamingResponse streaming) =>
        InvokeStreamingAsync(fn, invocation, asyncProcessor.AckWait(fn.Key), context, streaming);

    /// <summary>The sync path (gate, waiting bound, queue, <see cref="AwaitResultAsync"/>) with the answer written by <paramref name="streaming"/>.</summary>
    private async Task<IResult> InvokeStreamingAsync(
        ResolvedFunction fn, Invocation invocation, TimeSpan ackWait, HttpContext context, Streaming.IStreamingResponse streaming)
    {
        var ct = context.RequestAborted;
        if (!gate.TryEnter(fn.Key, fn.Spec.Concurrency?.Reserved))
        {
            metrics.Throttled(fn.Key, ReservedLimitReason);
            return LambdaErrors.TooManyRequests(ReservedLimitReason);
        }

        // Registered before it is queued: a shim may start streaming the moment it takes the invocation.
        invocation = invocation with { StreamResponse = true, StreamTo = streams.AdvertisedUrl };
        using var stream = streams.Register(invocation);
        try
        {
            if (queue.GetStats(fn.Key).WaitingSync >= options.MaxWaitingSyncPerFunction)
            {
                metrics.Throttled(fn.Key, ConcurrentLimitReason);
                return LambdaErrors.TooManyRequests(ConcurrentLimitReason);
            }

            var pending = await queue.EnqueueSyncAsync(invocation, new EnqueueOptions(ackWait), ct).ConfigureAwait(false);
            metrics.Accepted(fn.Key, invocation.Type);
            var call = new Streaming.StreamedInvocation(fn, invocation, stream, AwaitResultAsync(pending, fn, invocation, ackWait, ct), () => { var o = NotStarted(fn, invocation); return LambdaErrors.TooManyRequests(o.ThrottleReason!, o.ThrottleMessage ?? "Rate Exceeded."); });
            return await streaming.RespondAsync(call, context).ConfigureAwait(false);
        }
        finally
        {
            gate.Exit(fn.Key);
        }
    }

    public Task<IResult> InvokeAsync(string functionName, HttpContext context) => InvokeAsync(functionName, context, null);

    /// <summary>
    /// The Invoke API; with <paramref name="streaming"/> (InvokeWithResponseStream) the same path answers through it, as a
    /// stream, and accepts only RequestResponse and DryRun.
    /// </summary>
    public async Task<IResult> InvokeAsync(string functionName, HttpContext context, Streaming.IStreamingResponse? streaming)
    {
        var requestId = RandomIds.NewGuid().ToString();
        context.Response.Headers[LambdaErrors.RequestIdHeader] = requestId;
        var request = context.Request;
        var name = functionName.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        string? qualifier = request.Query["Qualifier"];

        if (!TryParseType(request.Headers["X-Amz-Invocation-Type"], out var type))
        {
            metrics.Rejected("InvalidParameterValueException");
            return LambdaErrors.InvalidParameter("Invalid X-Amz-Invocation-Type: expected RequestResponse, Event or DryRun.");
        }

        if (streaming is not null && type == InvocationType.Event)
        {
            metrics.Rejected("InvalidParameterValueException");
            return LambdaErrors.InvalidParameter("Invalid X-Amz-Invocation-Type: InvokeWithResponseStream accepts RequestResponse or DryRun.");
        }

        if (FunctionRegistry.QualifierConflict(name, qualifier) is { } conflict)
        {
            metrics.Rejected("InvalidParameterValueException");
            return LambdaErrors.InvalidParameter(conflict);
        }

        if (!functions.TryResolve(name, qualifier, out var fn))
        {
            metrics.Rejected("ResourceNotFoundException");
            var shown = name.StartsWith("arn:", StringComparison.Ordinal) ? name : $"arn:aws:lambda:{functions.Region}:{functions.AccountId}:function:{name}";
            return LambdaErrors.NotFound(string.IsNullOrEmpty(qualifier) ? shown : $"{shown}:{qualifier}", functions.SameNameInOtherNamespaces(name));
        }

        var limit = type == InvocationType.Event ? options.MaxAsyncPayloadBytes : options.MaxSyncPayloadBytes;

        // The byte budget is taken before the body is read, so concurrent callers cannot make the gateway buffer past it.
        var reserved = RequestBody.Reservation(request, limit);
        if (!budget.TryReserve(type, fn.Key, reserved))
        {
            var reason = type == InvocationType.Event ? AsyncBudgetReason : ConcurrentLimitReason;
            metrics.Throttled(fn.Key, reason);
            return LambdaErrors.TooManyRequests(reason);
        }

        var admitted = false;
        try
        {
            var result = await AdmitAsync(fn, type, requestId, limit, context, streaming).ConfigureAwait(false);
            admitted = type == InvocationType.Event && result is Microsoft.AspNetCore.Http.HttpResults.StatusCodeHttpResult { StatusCode: StatusCodes.Status202Accepted };
            return result;
        }
        finally
        {
            if (!admitted)
            {
                budget.Release(type, fn.Key, reserved);
            }
        }
    }

    private async Task<IResult> AdmitAsync(ResolvedFunction fn, InvocationType type, string requestId, long limit, HttpContext context, Streaming.IStreamingResponse? streaming)
    {
        var request = context.Request;
        var ct = context.RequestAborted;
        var payload = await RequestBody.ReadAsync(request, limit, ct).ConfigureAwait(false);
        if (payload is null)
        {
            metrics.Rejected("RequestTooLargeException");
            return LambdaErrors.TooLarge(limit);
        }

        if (!LambdaErrors.IsJson(payload, out var jsonError))
        {
            metrics.Rejected("InvalidRequestContentException");
            return LambdaErrors.InvalidContent($"Could not parse request body into json: {jsonError}");
        }

        if (request.Headers["X-Amz-Client-Context"].ToString() is { Length: > GatewayLimits.MaxClientContextBytes } tooLong)
        {
            metrics.Rejected("InvalidParameterValueException");
            return LambdaErrors.InvalidParameter(
                $"Client context must be at most {GatewayLimits.MaxClientContextBytes} bytes of base64-encoded data; got {tooLong.Length} bytes.");
        }

        if (!RequestBody.TryDecodeClientContext(request.Headers["X-Amz-Client-Context"], out var clientContext))
        {
            metrics.Rejected("InvalidRequestContentException");
            return LambdaErrors.InvalidContent("Client context must be a valid Base64-encoded JSON object.");
        }

        if (type == InvocationType.DryRun)
        {
            return Results.StatusCode(StatusCodes.Status204NoContent);
        }

        var invocation = new Invocation
        {
            RequestId = requestId,
            Namespace = fn.Key.Namespace,
            FunctionName = fn.Key.Name,
            Version = fn.Version,
            InvokedFunctionArn = fn.InvokedFunctionArn,
            Type = type,
            Payload = payload,
            ClientContext = clientContext,
            TraceId = request.Headers["X-Amzn-Trace-Id"].FirstOrDefault() ?? NewTraceId(),
            TailLog = string.Equals(request.Headers["X-Amz-Log-Type"], "Tail", StringComparison.OrdinalIgnoreCase),
            AcceptedAt = time.GetUtcNow(),
        };
        var ackWait = asyncProcessor.AckWait(fn.Key, fn.Version);
        if (type == InvocationType.Event)
        {
            await queue.EnqueueAsync(invocation, new EnqueueOptions(ackWait, FromCaller: true), ct).ConfigureAwait(false);
            metrics.Accepted(fn.Key, type);
            return Results.StatusCode(StatusCodes.Status202Accepted);
        }

        return streaming is null
            ? await InvokeSyncAsync(fn, invocation, ackWait, context).ConfigureAwait(false)
            : await InvokeStreamingAsync(fn, invocation, ackWait, context, streaming).ConfigureAwait(false);
    }

    private async Task<IResult> InvokeSyncAsync(ResolvedFunction fn, Invocation invocation, TimeSpan ackWait, HttpContext context)
    {
        var outcome = await RunSyncAsync(fn, invocation, ackWait, context.RequestAborted).ConfigureAwait(false);
        return outcome switch
        {
            { ThrottleReason: { } reason } => LambdaErrors.TooManyRequests(reason, outcome.ThrottleMessage ?? "Rate Exceeded."),
            { Result: { } result } => new InvocationResponse(result, invocation.TailLog),
            _ => Results.Empty, // the caller went away
        };
    }

    /// <summary>
    /// Runs one RequestResponse invocation the way the Invoke API does (reserved-concurrency gate, waiting-caller bound,
    /// queue, lease-bounded wait), for callers that map the result themselves (Function URLs). The payload is already
    /// read; the caller holds the admission budget for it.
    /// </summary>
    public Task<SyncOutcome> RunSyncAsync(ResolvedFunction fn, Invocation invocation, CancellationToken ct) =>
        RunSyncAsync(fn, invocation, asyncProcessor.AckWait(fn.Key), ct);

    private async Task<SyncOutcome> RunSyncAsync(ResolvedFunction fn, Invocation invocation, TimeSpan ackWait, CancellationToken ct)
    {
        if (!gate.TryEnter(fn.Key, fn.Spec.Concurrency?.Reserved))
        {
            metrics.Throttled(fn.Key, ReservedLimitReason);
            return SyncOutcome.Throttled(ReservedLimitReason);
        }

        try
        {
            if (queue.GetStats(fn.Key).WaitingSync >= options.MaxWaitingSyncPerFunction)
            {
                metrics.Throttled(fn.Key, ConcurrentLimitReason);
                return SyncOutcome.Throttled(ConcurrentLimitReason);
            }

            var pending = await queue.EnqueueSyncAsync(invocation, new EnqueueOptions(ackWait), ct).ConfigureAwait(false);
            metrics.Accepted(fn.Key, invocation.Type);
            var result = await AwaitResultAsync(pending, fn, invocation, ackWait, ct).ConfigureAwait(false);
            if (result is null)
            {
                return ct.IsCancellationRequested ? new SyncOutcome(null, null, null) : NotStarted(fn, invocation);
            }

            return new SyncOutcome(result, null, null);
        }
        finally
        {
            gate.Exit(fn.Key);
        }
    }

    /// <summary>
    /// Waits for the result, bounded by leases rather than wall-clock guesses: while queued, up to MaxStartWait for a
    /// worker to take it; while running, up to the lease (timeout + margin) plus a margin. When a worker dies its lease
    /// expires and the invocation is handed out again, up to <see cref="MaxSyncDeliveries"/> times; after that the caller
    /// gets a timeout error. Null when it never started in time or the caller went away.
    /// </summary>
    private async Task<InvocationResult?> AwaitResultAsync(ISyncInvocation pending, ResolvedFunction fn, Invocation invocation, TimeSpan ackWait, CancellationToken ct)
    {
        while (true)
        {
            var changed = pending.Changed;
            if (pending.Result.IsCompleted)
            {
                return await pending.Result.ConfigureAwait(false);
            }

            var running = pending.Running;
            if (!running && pending.Deliveries >= MaxSyncDeliveries && pending.TryWithdraw())
            {
                return TimedOut(fn, invocation);
            }

            try
            {
                await Task.WhenAny(pending.Result, changed).WaitAsync(running ? ackWait + options.TimeoutMargin : options.MaxStartWait, time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException) when (!pending.Result.IsCompleted)
            {
                if (running || pending.Deliveries > 0)
                {
                    pending.TryWithdraw();
                    return TimedOut(fn, invocation);
                }

                if (pending.TryWithdraw())
                {
                    return null;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                pending.TryWithdraw();
                return null;
            }
        }
    }

    private SyncOutcome NotStarted(ResolvedFunction fn, Invocation invocation)
    {
        LogNotStarted(logger, fn.Key.Namespace, fn.Key.Name, invocation.RequestId, options.MaxStartWait);
        metrics.Throttled(fn.Key, ConcurrentLimitReason);
        return SyncOutcome.Throttled(ConcurrentLimitReason, "No worker started the invocation in time.");
    }

    private static InvocationResult TimedOut(ResolvedFunction fn, Invocation invocation)
    {
        var message = $"RequestId: {invocation.RequestId} Error: Task timed out after {fn.Spec.TimeoutSeconds:0.00} seconds";
        return new InvocationResult
        {
            RequestId = invocation.RequestId,
            Outcome = InvocationOutcome.FunctionError,
            FunctionError = "Unhandled",
            ErrorType = "Sandbox.Timedout",
            Payload = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { errorMessage = message, errorType = "Sandbox.Timedout" })),
            ExecutedVersion = invocation.Version,
        };
    }

    private static readonly string[] InvocationTypeNames = Enum.GetNames<InvocationType>();

    private static bool TryParseType(string? header, out InvocationType type)
    {
        type = InvocationType.RequestResponse;
        return string.IsNullOrEmpty(header) || (InvocationTypeNames.Contains(header, StringComparer.Ordinal) && Enum.TryParse(header, out type));
    }

    /// <summary>A new X-Ray style trace id (Root=1-&lt;epoch&gt;-&lt;random&gt;;Sampled=0) for a request that brought none.</summary>
    public string NewTraceId()
    {
        var epoch = time.GetUtcNow().ToUnixTimeSeconds();
        return $"Root=1-{epoch:x8}-{RandomIds.NewGuid():N}"[..40] + ";Sampled=0";
    }

    /// <summary>Writes a worker's result as Lambda does: 200, payload, X-Amz-Executed-Version, X-Amz-Function-Error, X-Amz-Log-Result.</summary>
    private sealed class InvocationResponse(InvocationResult result, bool tail) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json";
            response.Headers["X-Amz-Executed-Version"] = result.ExecutedVersion;
            if (result.Outcome == InvocationOutcome.FunctionError)
            {
                response.Headers["X-Amz-Function-Error"] = result.FunctionError ?? "Unhandled";
            }

            if (tail)
            {
                var log = Encoding.UTF8.GetBytes(result.LogTail ?? "");
                response.Headers["X-Amz-Log-Result"] = Convert.ToBase64String(log.AsSpan(Math.Max(0, log.Length - LogTailBytes)));
            }

            response.ContentLength = result.Payload.Length;
            await response.Body.WriteAsync(result.Payload, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Withdrew sync invocation that no worker started namespace={Namespace} function={Function} requestId={RequestId} waited={Waited}")]
    private static partial void LogNotStarted(ILogger logger, string @namespace, string function, string requestId, TimeSpan waited);
}

/// <summary>
/// How a RequestResponse invocation ended for the caller: the worker's result (a timeout is a result too), a throttle
/// (reason for the 429, optional message), or neither when the caller went away.
/// </summary>
public sealed record SyncOutcome(InvocationResult? Result, string? ThrottleReason, string? ThrottleMessage)
{
    public static SyncOutcome Throttled(string reason, string? message = null) => new(null, reason, message);
}
