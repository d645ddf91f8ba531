using k8s;

namespace FnOperator.Kubernetes;

/// <summary>A page-less list with its resourceVersion.</summary>
public sealed record ListResult<T>(IReadOnlyList<T> Items, string ResourceVersion);

/// <summary>List and watch of one resource type: what an <see cref="Informer{T}"/> consumes.</summary>
public interface IListWatch<T>
{
    Task<ListResult<T>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Watches from <paramref name="resourceVersion"/> with bookmarks. Status events (such as 410 Gone) and decoding
    /// failures go to <paramref name="onError"/>; the stream ends when the server closes it.
    /// </summary>
    IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken);
}
