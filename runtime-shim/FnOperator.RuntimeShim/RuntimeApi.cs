using System.Globalization;
using System.Text.Json;

namespace FnOperator.RuntimeShim;

/// <summary>The Lambda Runtime API 2018-06-01 as minimal-API endpoints on the loopback address.</summary>
public static class RuntimeApi
{
    public const string Prefix = "/2018-06-01/runtime";
    private const int MaxDrainBytes = 256 * 1024 * 1024;
    private static readonly byte[] Accepted = """{"status":"OK"}"""u8.ToArray();

    public static void Map(IEndpointRouteBuilder app, ShimOptions options, InvocationSlot slot, RuntimeSupervisor supervisor)
    {
        app.MapGet(Prefix + "/invocation/next", (HttpContext context) => NextAsync(context, slot, supervisor));
        app.MapPost(Prefix + "/invocation/{requestId}/response", (HttpContext context, string requestId) =>
            PostAsync(context, requestId, options, slot, isError: false));
        app.MapPost(Prefix + "/invocation/{requestId}/error", (HttpContext context, string requestId) =>
            PostAsync(context, requestId, options, slot, isError: true));
        app.MapPost(Prefix + "/init/error", (HttpContext context) => InitErrorAsync(context, options, supervisor));
    }

    private static async Task NextAsync(HttpContext context, InvocationSlot slot, RuntimeSupervisor supervisor)
    {
        supervisor.OnNextPolled();
        ActiveInvocation active;
        try
        {
            active = await slot.NextAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        supervisor.OnInvocationDelivered();
        var invocation = active.Invocation;
        var headers = context.Response.Headers;
        headers["Lambda-Runtime-Aws-Request-Id"] = invocation.RequestId;
        headers["Lambda-Runtime-Deadline-Ms"] = active.Deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        headers["Lambda-Runtime-Invoked-Function-Arn"] = invocation.InvokedFunctionArn;
        if (invocation.TraceId is { Length: > 0 } trace)
        {
            headers["Lambda-Runtime-Trace-Id"] = trace;
        }

        if (invocation.ClientContext is { Length: > 0 } clientContext)
        {
            headers["Lambda-Runtime-Client-Context"] = clientContext;
        }

        if (invocation.CognitoIdentity is { Length: > 0 } identity)
        {
            headers["Lambda-Runtime-Cognito-Identity"] = identity;
        }

        context.Response.ContentType = "application/json";
        context.Response.ContentLength = invocation.Payload.Length;
        await context.Response.Body.WriteAsync(invocation.Payload, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task PostAsync(HttpContext context, string requestId, ShimOptions options, InvocationSlot slot, bool isError)
    {
        if (!isError && StreamingResponse.IsStreaming(context.Request))
        {
            var sink = context.RequestServices.GetService<FnOperator.Contracts.IInvocationSource>() as FnOperator.Contracts.IResponseStreamSink;
            await StreamingResponse.HandleAsync(context, requestId, options, slot, sink).ConfigureAwait(false);
            return;
        }

        var body = await ReadCappedAsync(context.Request, options.MaxResponseBytes, context.RequestAborted).ConfigureAwait(false);
        RuntimeReply reply = body is null
            ? new RuntimeReply(ReplyKind.TooLarge, [])
            : new RuntimeReply(isError ? ReplyKind.Error : ReplyKind.Response, body, isError ? ErrorTypeHeader(context.Request) : null);

        switch (slot.TryComplete(requestId, reply))
        {
            case PostOutcome.UnknownRequestId:
                await ErrorAsync(context, 400, "InvalidRequestID", $"Invalid request ID: {requestId}").ConfigureAwait(false);
                return;
            case PostOutcome.AlreadyCompleted:
                await ErrorAsync(context, 403, "InvalidStateTransition", $"Invocation {requestId} already has a result.").ConfigureAwait(false);
                return;
        }

        if (reply.Kind == ReplyKind.TooLarge)
        {
            await ErrorAsync(context, 413, "RequestEntityTooLarge",
                $"Exceeded maximum allowed payload size ({options.MaxResponseBytes} bytes).").ConfigureAwait(false);
            return;
        }

        await WriteAsync(context, 202, Accepted).ConfigureAwait(false);
    }

    private static async Task InitErrorAsync(HttpContext context, ShimOptions options, RuntimeSupervisor supervisor)
    {
        var body = await ReadCappedAsync(context.Request, options.MaxResponseBytes, context.RequestAborted).ConfigureAwait(false) ?? [];
        var errorType = ErrorTypeHeader(context.Request) ?? InvocationRunner.ErrorTypeFromBody(body) ?? "Runtime.Unknown";
        var message = ErrorMessageFromBody(body) ?? "The runtime reported an initialisation error.";
        if (!supervisor.OnInitError(new RuntimeFailure(errorType, message, body.Length > 0 && InvocationRunner.ErrorTypeFromBody(body) is not null ? body : null)))
        {
            await ErrorAsync(context, 403, "InvalidStateTransition", "The runtime is past initialisation.").ConfigureAwait(false);
            return;
        }

        await WriteAsync(context, 202, Accepted).ConfigureAwait(false);
    }

    /// <summary>Reads the body up to <paramref name="limit"/> bytes; null when it is larger (the rest is drained, bounded).</summary>
    internal static async Task<byte[]?> ReadCappedAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } length && length <= limit)
        {
            var exact = new byte[length];
            await request.Body.ReadExactlyAsync(exact, cancellationToken).ConfigureAwait(false);
            return exact;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (total > limit)
            {
                await DrainAsync(request.Body, chunk, total, cancellationToken).ConfigureAwait(false);
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static async Task DrainAsync(Stream body, byte[] chunk, long total, CancellationToken cancellationToken)
    {
        int read;
        while (total < MaxDrainBytes && (read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
        }
    }

    private static string? ErrorTypeHeader(HttpRequest request) =>
        request.Headers.TryGetValue("Lambda-Runtime-Function-Error-Type", out var value) && value.ToString() is { Length: > 0 } text ? text : null;

    private static string? ErrorMessageFromBody(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("errorMessage", out var message) && message.ValueKind == JsonValueKind.String
                ? message.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Task ErrorAsync(HttpContext context, int status, string errorType, string message) =>
        WriteAsync(context, status, ShimJson.Object(new Dictionary<string, string>
        {
            ["errorMessage"] = message,
            ["errorType"] = errorType,
        }));

    private static async Task WriteAsync(HttpContext context, int status, byte[] body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
