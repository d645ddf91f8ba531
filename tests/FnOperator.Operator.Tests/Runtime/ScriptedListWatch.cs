using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Runtime;

/// <summary>
/// A list/watch source that replays scripted lists and watch sessions, standing in for the API server at the informer's
/// seam. A session yields its events, then reports its error or ends; with no session left, a watch stays open.
/// </summary>
public sealed class ScriptedListWatch : IListWatch<V1ConfigMap>
{
    private readonly ConcurrentQueue<ListResult<V1ConfigMap>> lists = new();
    private readonly ConcurrentQueue<Session> sessions = new();

    public ConcurrentQueue<string> WatchedFrom { get; } = new();

    public int ListCalls;

    public void EnqueueList(string resourceVersion, params V1ConfigMap[] items) => lists.Enqueue(new([.. items], resourceVersion));

    public void EnqueueSession(Session session) => sessions.Enqueue(session);

    public Task<ListResult<V1ConfigMap>> ListAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ListCalls);
        return lists.TryDequeue(out var list) ? Task.FromResult(list) : Task.FromException<ListResult<V1ConfigMap>>(new HttpRequestException("no list scripted"));
    }

    public async IAsyncEnumerable<(WatchEventType Type, V1ConfigMap Object)> WatchAsync(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        WatchedFrom.Enqueue(resourceVersion);
        if (!sessions.TryDequeue(out var session))
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }

        foreach (var e in session.Events)
        {
            yield return e;
        }

        if (session.StatusError is { } status)
        {
            onError(new KubernetesException(status));
        }

        if (session.Throw is { } exception)
        {
            throw exception;
        }
    }

    public static V1ConfigMap Object(string name, string uid, string resourceVersion, string? data = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Uid = uid, ResourceVersion = resourceVersion },
        Data = data is null ? null : new Dictionary<string, string> { ["v"] = data },
    };

    public sealed record Session((WatchEventType, V1ConfigMap)[] Events, V1Status? StatusError = null, Exception? Throw = null);
}
