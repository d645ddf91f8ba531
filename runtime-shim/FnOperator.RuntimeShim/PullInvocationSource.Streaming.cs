using System.Net;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>
/// Streamed responses over the pull protocol (<see cref="PullProtocol.StreamPath"/>): one chunked POST per streamed
/// invocation to the caller's gateway replica (<see cref="Invocation.StreamTo"/>, else the gateway pulled from), each
/// read of the runtime's body written and flushed as it arrives. <c>Expect: 100-continue</c> keeps the body unread until
/// the gateway accepted the stream, so a 404 (no caller waits for it there) leaves it for the buffered fallback.
/// </summary>
public sealed partial class PullInvocationSource : IResponseStreamSink
{
    /// <summary>Its own connections: a long stream must not hold one of the pull connections, nor wait behind them.</summary>
    private static readonly HttpClient StreamClient = new(new SocketsHttpHandler
    {
        Expect100ContinueTimeout = TimeSpan.FromSeconds(60),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        MaxConnectionsPerServer = 16,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task<bool> StreamAsync(Invocation invocation, string contentType, Stream body, CancellationToken cancellationToken)
    {
        var baseUri = invocation.StreamTo is { Length: > 0 } to ? new Uri(to) : http.BaseAddress ?? options.SourceUrl ?? throw new InvalidOperationException("The shim has no gateway address.");
        var content = new PumpContent(body, contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, PullProtocol.StreamPath(invocation.RequestId))) { Content = content };
        request.Headers.ExpectContinue = true;
        if (_credential is not null)
        {
            request.Headers.TryAddWithoutValidation(PullProtocol.CredentialHeader, _credential);
        }

        if (invocation.LeaseToken is { } lease)
        {
            request.Headers.TryAddWithoutValidation(PullProtocol.LeaseTokenHeader, lease);
        }

        using var response = await StreamClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound && !content.Started)
        {
            LogNoStreamCaller(logger, invocation.RequestId);
            return false;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"The gateway answered the response stream with {(int)response.StatusCode}.", null, response.StatusCode);
        }

        return true;
    }

    /// <summary>Chunked content that forwards each read of the source at once (no buffering past one read).</summary>
    private sealed class PumpContent : HttpContent
    {
        private readonly Stream _source;

        public PumpContent(Stream source, string contentType)
        {
            _source = source;
            Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        public bool Started { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            Started = true;
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await _source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway holds no caller for the response stream; sending it buffered, requestId={RequestId}")]
    private static partial void LogNoStreamCaller(ILogger logger, string requestId);
}
