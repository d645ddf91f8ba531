using FnOperator.Contracts;

namespace FnOperator.Gateway.Streaming;

/// <summary>
/// The seam between the Function URL endpoint (Gateway/Urls) and response streaming (Gateway/Streaming): a URL whose
/// invokeMode is RESPONSE_STREAM hands its invocation (the payload is the URL's event, already built) to this responder,
/// which runs it in the Runtime API's streaming mode and writes the function's HTTP response to
/// <paramref name="context"/>.Response as the function writes it: status, headers and cookies from the
/// application/vnd.awslambda.http-integration-response prelude (JSON, then 8 NUL bytes) when the function sends one,
/// then the body chunk by chunk. <paramref name="extraHeaders"/> (the URL's CORS headers) are added and override the
/// function's own, as Lambda does. A function error or timeout before the first byte answers as a buffered URL would;
/// after it, the stream is ended (Lambda cannot change a status already sent).
/// </summary>
public interface IStreamingUrlResponder
{
    Task RespondAsync(
        HttpContext context,
        Invocation invocation,
        IReadOnlyDictionary<string, string> extraHeaders,
        CancellationToken cancellationToken);
}
