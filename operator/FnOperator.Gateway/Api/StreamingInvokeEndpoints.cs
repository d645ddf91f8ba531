using System.Buffers;
using System.Text;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Streaming;

namespace FnOperator.Gateway.Api;

/// <summary>
/// InvokeWithResponseStream: <c>POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations[?Qualifier=]</c>.
/// The Invoke API's path (name and qualifier resolution, limits, concurrency gate, auth) with a streaming response: an
/// AWS event stream of <c>PayloadChunk{Payload}</c> events as the function writes, then <c>InvokeComplete{ErrorCode,
/// ErrorDetails, LogResult}</c>. HTTP 200 with <c>X-Amz-Executed-Version</c> and <c>Content-Type</c> the function's
/// (application/octet-stream unless it set one) once the invocation answers; a function error is reported in
/// InvokeComplete, never in the HTTP status. InvocationType RequestResponse (default) or DryRun (204).
/// </summary>
public sealed class StreamingInvokeEndpoints(InvokeEndpoints invoke) : IStreamingResponse
{
    public const string Path = "/2021-11-15/functions/{functionName}/response-streaming-invocations";
    private const int LogTailBytes = 4096;

    public Task<IResult> InvokeAsync(string functionName, HttpContext context) => invoke.InvokeAsync(functionName, context, this);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost(Path, (string functionName, HttpContext context, StreamingInvokeEndpoints api) => api.InvokeAsync(functionName, context));
        app.MapPost("/2021-11-15/functions/{ns}/{functionName}/response-streaming-invocations",
            (string ns, string functionName, HttpContext context, StreamingInvokeEndpoints api) => api.InvokeAsync($"{ns}/{functionName}", context));
    }

    public async Task<IResult> RespondAsync(StreamedInvocation call, HttpContext context)
    {
        var ct = context.RequestAborted;
        var response = context.Response;
        try
        {
            var contentType = await call.StartAsync(ct).ConfigureAwait(false);
            InvocationResult? result = null;
            if (contentType is null)
            {
                result = await call.Result.ConfigureAwait(false);
                if (result is null)
                {
                    return ct.IsCancellationRequested ? Results.Empty : call.NotStarted();
                }
            }

            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = contentType ?? "application/json";
            response.Headers["X-Amz-Executed-Version"] = call.Invocation.Version;
            await response.StartAsync(ct).ConfigureAwait(false);
            if (contentType is not null)
            {
                await call.CopyAsync((chunk, token) => WriteAsync(response, PayloadChunk(chunk), token), ct).ConfigureAwait(false);
                result = await call.Result.ConfigureAwait(false);
            }

            if (result is null)
            {
                return Results.Empty;
            }

            if (result.Outcome == InvocationOutcome.Success && result.Payload.Length > 0)
            {
                // A buffered answer (the runtime did not stream, or the stream could not reach this replica): one chunk.
                await WriteAsync(response, PayloadChunk(new ReadOnlySequence<byte>(result.Payload)), ct).ConfigureAwait(false);
            }

            await WriteAsync(response, Complete(result, call.Invocation.TailLog), ct).ConfigureAwait(false);
            return Results.Empty;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return Results.Empty;
        }
    }

    private static byte[] PayloadChunk(ReadOnlySequence<byte> payload) => EventStream.Event("PayloadChunk", "application/octet-stream", payload);

    /// <summary>InvokeComplete: ErrorCode the error type, ErrorDetails its message (the error document when it has none), LogResult the base64 log tail.</summary>
    internal static byte[] Complete(InvocationResult result, bool tail)
    {
        var body = new Dictionary<string, string>();
        if (result.Outcome == InvocationOutcome.FunctionError)
        {
            body["ErrorCode"] = result.ErrorType ?? result.FunctionError ?? "Unhandled";
            body["ErrorDetails"] = ErrorMessage(result.Payload);
        }

        if (tail)
        {
            var log = Encoding.UTF8.GetBytes(result.LogTail ?? "");
            body["LogResult"] = Convert.ToBase64String(log.AsSpan(Math.Max(0, log.Length - LogTailBytes)));
        }

        return EventStream.Event("InvokeComplete", "application/json", JsonSerializer.SerializeToUtf8Bytes(body));
    }

    private static string ErrorMessage(byte[] payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("errorMessage", out var message) && message.ValueKind == JsonValueKind.String)
            {
                return message.GetString() ?? "";
            }
        }
        catch (JsonException)
        {
        }

        return Encoding.UTF8.GetString(payload);
    }

    private static async Task WriteAsync(HttpResponse response, byte[] message, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
