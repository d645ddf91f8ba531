namespace FnOperator.Contracts;

/// <summary>
/// Implemented by an <see cref="IInvocationSource"/> that can carry a streamed response to the waiting caller while the
/// runtime writes it (the pull protocol's <see cref="PullProtocol.StreamPath"/>).
/// </summary>
public interface IResponseStreamSink
{
    /// <summary>
    /// Sends <paramref name="body"/> to the caller of <paramref name="invocation"/>, each read forwarded as it arrives.
    /// True when the caller's gateway took the whole stream; false when no caller waits for it there (the stream was
    /// not read: the caller falls back to the result). Throws when the stream broke part-way.
    /// </summary>
    Task<bool> StreamAsync(Invocation invocation, string contentType, Stream body, CancellationToken cancellationToken);
}
