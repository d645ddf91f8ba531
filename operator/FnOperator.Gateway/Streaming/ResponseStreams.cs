using System.Collections.Concurrent;
using System.IO.Pipelines;
using FnOperator.Contracts;

namespace FnOperator.Gateway.Streaming;

/// <summary>
/// The streaming callers waiting on this replica, by request id: the rendezvous between a caller
/// (InvokeWithResponseStream, a RESPONSE_STREAM URL) and the shim's stream POST (<see cref="PullProtocol.StreamPath"/>).
/// Each stream is a bounded pipe (<see cref="PauseBytes"/>): a slow caller slows the shim and through it the runtime,
/// never the gateway's memory.
/// </summary>
public sealed class ResponseStreams(StreamingOptions options)
{
    /// <summary>Bytes buffered per stream before the shim's writes wait for the caller.</summary>
    public const int PauseBytes = 1024 * 1024;

    private readonly ConcurrentDictionary<string, ResponseStream> _streams = new(StringComparer.Ordinal);

    /// <summary>Where shims send this replica's streams (null: the gateway they pull from).</summary>
    public string? AdvertisedUrl => options.AdvertisedUrl;

    public int Count => _streams.Count;

    /// <summary>Registers the caller of <paramref name="invocation"/>; disposing the handle unregisters it and ends the stream.</summary>
    public ResponseStream Register(Invocation invocation)
    {
        var stream = new ResponseStream(invocation, this);
        if (!_streams.TryAdd(invocation.RequestId, stream))
        {
            throw new InvalidOperationException($"A stream for {invocation.RequestId} is already registered.");
        }

        return stream;
    }

    /// <summary>The waiting stream for the request id, claimed for its one writer; null when none waits or it is taken.</summary>
    public ResponseStream? Find(string requestId) => _streams.TryGetValue(requestId, out var stream) ? stream : null;

    internal void Remove(ResponseStream stream) => _streams.TryRemove(new KeyValuePair<string, ResponseStream>(stream.Invocation.RequestId, stream));
}

/// <summary>One caller's stream: started by the shim's POST (its content type), then bytes through a bounded pipe.</summary>
public sealed class ResponseStream : IDisposable
{
    private readonly ResponseStreams _owner;
    private readonly TaskCompletionSource<string> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _claimed;

    internal ResponseStream(Invocation invocation, ResponseStreams owner)
    {
        Invocation = invocation;
        _owner = owner;
        Pipe = new Pipe(new PipeOptions(
            pauseWriterThreshold: ResponseStreams.PauseBytes,
            resumeWriterThreshold: ResponseStreams.PauseBytes / 2,
            useSynchronizationContext: false));
    }

    public Invocation Invocation { get; }

    public Pipe Pipe { get; }

    /// <summary>Completes with the runtime's content type when the shim starts sending.</summary>
    public Task<string> Started => _started.Task;

    /// <summary>True for the first writer only (a second POST for the same stream is refused).</summary>
    public bool TryClaim(string contentType)
    {
        if (Interlocked.Exchange(ref _claimed, 1) != 0)
        {
            return false;
        }

        _started.TrySetResult(contentType);
        return true;
    }

    public void Dispose()
    {
        _owner.Remove(this);
        Pipe.Reader.Complete();
    }
}

/// <summary>
/// Streaming settings: <see cref="AdvertisedUrl"/> is this replica's own base URL as shims can reach it (a pod IP URL,
/// from <c>FNOP_GATEWAY_STREAM_URL</c>). It is needed only when several gateway replicas share a JetStream queue: a
/// shim may pull from any replica, and sends the stream to the caller's one.
/// </summary>
public sealed record StreamingOptions(string? AdvertisedUrl)
{
    public const string AdvertisedUrlEnv = "FNOP_GATEWAY_STREAM_URL";

    public static StreamingOptions FromEnvironment() => Parse(Environment.GetEnvironmentVariable(AdvertisedUrlEnv));

    /// <summary>The options for a value of <see cref="AdvertisedUrlEnv"/>; throws naming the variable when it is not an absolute http(s) URL.</summary>
    public static StreamingOptions Parse(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return new StreamingOptions((string?)null);
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"{AdvertisedUrlEnv} '{url}' is not an absolute http(s) URL.");
        }

        return new StreamingOptions(uri.ToString());
    }
}
