using FnOperator.Contracts;
using FnOperator.Gateway.Api;
using Microsoft.AspNetCore.Http.Features;

namespace FnOperator.Gateway.Streaming;

/// <summary>
/// <c>POST /_fnop/v1/invocations/{requestId}/stream</c>: a shim's streamed response, piped to the caller waiting on this
/// replica as it arrives. 404 (body unread, so the shim falls back to a buffered result) when no caller waits here, 409
/// when the stream is already being written, 401/403 as the rest of the pull protocol. The body is read to its end even
/// when the caller has gone (discarded), so the runtime's response completes; its size is bounded by the shim (200 MB).
/// </summary>
public sealed partial class StreamReceiveEndpoint(ResponseStreams streams, GatewayOptions options, ILogger<StreamReceiveEndpoint> logger)
{
    public async Task<IResult> ReceiveAsync(string requestId, HttpContext context)
    {
        var stream = streams.Find(requestId);
        if (stream is null)
        {
            return LambdaErrors.Error(404, "ResourceNotFoundException", $"No caller waits for the response stream of {requestId} on this gateway.");
        }

        var invocation = stream.Invocation;
        if (options.ClusterKey is { } key)
        {
            string? presented = context.Request.Headers[PullProtocol.CredentialHeader];
            if (string.IsNullOrEmpty(presented))
            {
                return LambdaErrors.Error(401, "UnauthorizedException", $"The pull protocol needs the function version's credential in {PullProtocol.CredentialHeader}.");
            }

            if (!PullProtocol.Verify(key, invocation.Namespace, invocation.FunctionName, invocation.Version, presented))
            {
                return LambdaErrors.Error(403, "AccessDeniedException", "The credential is not valid for this function version.");
            }
        }

        var contentType = context.Request.ContentType is { Length: > 0 } type ? type : "application/octet-stream";
        if (!stream.TryClaim(contentType))
        {
            return LambdaErrors.Error(409, "ResourceConflictException", $"The response of {requestId} is already streaming.");
        }

        // A function may pause for as long as its timeout between writes, and send up to the shim's 200 MB limit.
        if (context.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = PullProtocol.MaxStreamResponseBytes + (1024 * 1024);
        }

        var writer = stream.Pipe.Writer;
        var body = context.Request.Body;
        var callerGone = false;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(16 * 1024);
                var read = await body.ReadAsync(memory, context.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (callerGone)
                {
                    continue;
                }

                writer.Advance(read);
                var flushed = await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                callerGone = flushed.IsCompleted;
            }

            await writer.CompleteAsync().ConfigureAwait(false);
            return Results.StatusCode(StatusCodes.Status202Accepted);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // The shim cut the stream (timeout, runtime exit, oversize): the caller ends the stream and reads the result.
            LogStreamCut(logger, requestId, e.Message);
            await writer.CompleteAsync(new IOException("The function's response stream was cut.", e)).ConfigureAwait(false);
            return Results.Empty;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Response stream ended before its end requestId={RequestId} reason={Reason}")]
    private static partial void LogStreamCut(ILogger logger, string requestId, string reason);
}
