using System.Globalization;
using System.Text;
using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The Runtime API's streaming response mode: a runtime POSTs <c>/invocation/{id}/response</c> with
/// <c>Lambda-Runtime-Function-Response-Mode: streaming</c> and a chunked body, and reports a failure part-way in the
/// trailers <c>Lambda-Runtime-Function-Error-Type</c> / <c>Lambda-Runtime-Function-Error-Body</c> (base64 of the
/// error JSON), as aws-lambda-ric and Lambda's custom-runtime guide do.
/// <list type="bullet">
/// <item>A streaming invocation (<see cref="Invocation.StreamResponse"/>) sends each read of the body on to the caller's
/// gateway as it arrives (<see cref="IResponseStreamSink"/>), up to <see cref="StreamLimit"/> bytes (200 MB, Lambda's
/// streamed-response limit; <c>FNOP_MAX_STREAM_RESPONSE_BYTES</c> overrides it); past it the stream is cut and the
/// invocation fails with Function.ResponseSizeTooLarge.</item>
/// <item>A buffered invocation (Invoke of a streaming handler), or a gateway that holds no caller for the stream, reads
/// the body as a buffered response (the 6 MB limit of <see cref="ShimOptions.MaxResponseBytes"/>).</item>
/// <item>The function timeout still applies: when the invocation ends for the shim (timeout, runtime exit) the stream to
/// the gateway is cut.</item>
/// </list>
/// </summary>
public static class StreamingResponse
{
    public const string ModeHeader = "Lambda-Runtime-Function-Response-Mode";
    public const string StreamingMode = "streaming";
    public const string ErrorTypeTrailer = "Lambda-Runtime-Function-Error-Type";
    public const string ErrorBodyTrailer = "Lambda-Runtime-Function-Error-Body";
    public const string DefaultContentType = "application/octet-stream";
    public const string LimitEnv = "FNOP_MAX_STREAM_RESPONSE_BYTES";
    private const int MaxDrainBytes = 256 * 1024 * 1024;
    private static readonly byte[] Accepted = """{"status":"OK"}"""u8.ToArray();

    /// <summary>The streamed-response limit in bytes.</summary>
    public static long StreamLimit { get; } =
        long.TryParse(Environment.GetEnvironmentVariable(LimitEnv), NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0
            ? limit
            : PullProtocol.MaxStreamResponseBytes;

    public static bool IsStreaming(IRuntimeApiExchange exchange) =>
        string.Equals(exchange.Header(ModeHeader), StreamingMode, StringComparison.OrdinalIgnoreCase);

    /// <summary>Handles a streaming-mode POST to /response; writes the Runtime API's answer.</summary>
    public static async Task HandleAsync(IRuntimeApiExchange exchange, string requestId, ShimOptions options, InvocationSlot slot, IResponseStreamSink? sink)
    {
        switch (slot.TryBeginResponse(requestId, out var active))
        {
            case PostOutcome.UnknownRequestId:
                await RuntimeApi.ErrorAsync(exchange, 400, "InvalidRequestID", $"Invalid request ID: {requestId}").ConfigureAwait(false);
                return;
            case PostOutcome.AlreadyCompleted:
                await RuntimeApi.ErrorAsync(exchange, 403, "InvalidStateTransition", $"Invocation {requestId} already has a result.").ConfigureAwait(false);
                return;
        }

        // The handler may pause between writes for as long as its timeout allows.
        exchange.AllowSlowBody();
        var invocation = active!.Invocation;
        var contentType = exchange.Header("Content-Type") is { Length: > 0 } type ? type : DefaultContentType;
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(exchange.Aborted, active.Finished);
        var body = new LimitedStream(exchange.Body, StreamLimit);
        RuntimeReply reply;
        try
        {
            var streamed = invocation.StreamResponse && sink is not null
                && await sink.StreamAsync(invocation, contentType, body, ended.Token).ConfigureAwait(false);
            var buffered = streamed ? [] : await RuntimeApi.ReadCappedAsync(exchange, options.MaxResponseBytes, ended.Token).ConfigureAwait(false);
            reply = buffered is null
                ? new RuntimeReply(ReplyKind.TooLarge, [])
                : Trailers(exchange, buffered, streamed);
        }
        catch (Exception e) when (body.Exceeded && e is IOException or HttpRequestException or OperationCanceledException)
        {
            // Past the limit (HttpClient reports the content's exception wrapped): the stream to the gateway was cut.
            await DrainAsync(exchange.Body, ended.Token).ConfigureAwait(false);
            reply = new RuntimeReply(ReplyKind.TooLarge, [], Streamed: true);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // Timed out, the runtime went away, or the caller's gateway did: the runner answers the invocation (timeout,
            // exit) or, with the runtime still here, the response counts as sent (the caller is gone).
            // (Kestrel's BadHttpRequestException is an IOException.)
            if (ended.IsCancellationRequested)
            {
                return;
            }

            await DrainAsync(exchange.Body, ended.Token).ConfigureAwait(false);
            reply = Trailers(exchange, [], streamed: true);
        }

        if (slot.TryComplete(requestId, reply) != PostOutcome.Accepted)
        {
            await RuntimeApi.ErrorAsync(exchange, 403, "InvalidStateTransition", $"Invocation {requestId} already has a result.").ConfigureAwait(false);
            return;
        }

        if (reply.Kind == ReplyKind.TooLarge)
        {
            var limit = reply.Streamed ? StreamLimit : options.MaxResponseBytes;
            await RuntimeApi.ErrorAsync(exchange, 413, "RequestEntityTooLarge", $"Exceeded maximum allowed payload size ({limit} bytes).").ConfigureAwait(false);
            return;
        }

        await exchange.RespondAsync(202, Accepted).ConfigureAwait(false);
    }

    /// <summary>The reply after the whole body was read: an error when the runtime sent the error trailers.</summary>
    private static RuntimeReply Trailers(IRuntimeApiExchange exchange, byte[] body, bool streamed)
    {
        if (exchange.Trailer(ErrorTypeTrailer) is not { Length: > 0 } errorType)
        {
            return new RuntimeReply(ReplyKind.Response, body, Streamed: streamed);
        }

        return new RuntimeReply(ReplyKind.Error, ErrorBody(exchange.Trailer(ErrorBodyTrailer), errorType), errorType, streamed);
    }

    /// <summary>The error trailer's body (base64 of JSON), else a document built from the error type.</summary>
    internal static byte[] ErrorBody(string? encoded, string errorType)
    {
        if (!string.IsNullOrEmpty(encoded))
        {
            try
            {
                var bytes = Convert.FromBase64String(encoded);
                using var _ = JsonDocument.Parse(bytes);
                return bytes;
            }
            catch (Exception e) when (e is FormatException or JsonException)
            {
                return ShimJson.Object(new Dictionary<string, string> { ["errorType"] = errorType, ["errorMessage"] = encoded });
            }
        }

        return ShimJson.Object(new Dictionary<string, string>
        {
            ["errorType"] = errorType,
            ["errorMessage"] = "The function failed while streaming its response.",
        });
    }

    private static async Task DrainAsync(Stream body, CancellationToken cancellationToken)
    {
        var chunk = new byte[64 * 1024];
        long total = 0;
        try
        {
            int read;
            while (total < MaxDrainBytes && (read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
    }

    /// <summary>Thrown by <see cref="LimitedStream"/> when the runtime sends more than the limit.</summary>
    public sealed class StreamLimitExceededException(long limit) : IOException($"The streamed response exceeded {limit} bytes.");

    /// <summary>A read-only view of the runtime's body that fails once more than the limit has been read.</summary>
    private sealed class LimitedStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public bool Exceeded => _read > limit;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _read += read;
            return _read > limit ? throw new StreamLimitExceededException(limit) : read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
