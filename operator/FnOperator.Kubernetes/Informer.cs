using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FnOperator.Kubernetes;

/// <summary>
/// Keeps a cache of one resource type: list, then watch from the list's resourceVersion with bookmarks; a closed watch
/// resumes from the last seen resourceVersion, an expired one (410 Gone) relists, errors back off with jitter.
/// The cache is keyed by UID with a namespace/name index and optional secondary indexes (<see cref="AddIndex"/>);
/// handlers run on the informer's loop and should only enqueue.
/// </summary>
public sealed partial class Informer<T>(
    string kind, IListWatch<T> source, TimeProvider time, IInformerMetrics metrics, ILogger logger) : IInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<string, CachedObject<T>> byUid = new();
    private readonly ConcurrentDictionary<ObjectKey, string> uidByKey = new();
    private readonly CacheIndex<T> indexes = new();
    private readonly TaskCompletionSource syncedOnce = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool synced;
    private string resourceVersion = "";

    /// <summary>Called with the previous cached object (null when new) and the new one.</summary>
    public event Action<T?, T>? Upserted;

    public event Action<T>? Deleted;

    public string Kind => kind;

    /// <summary>True once the first list has filled the cache.</summary>
    public bool HasSynced => synced;

    /// <summary>Completes once the first list has filled the cache (wait for it instead of polling <see cref="HasSynced"/>).</summary>
    public Task Synced => syncedOnce.Task;

    /// <summary>Shortest server-side watch timeout; each watch picks a random value up to twice this.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Annotations dropped from cached objects (besides metadata.managedFields, which is always dropped): only for
    /// types the operator never writes back whole, since a PUT of a trimmed object would remove them.
    /// </summary>
    public IReadOnlyList<string> DroppedAnnotations { get; init; } = [];

    /// <summary>
    /// Keep cached objects as UTF-8 JSON and decode on read (<see cref="Get"/> and <see cref="List"/> then return
    /// fresh copies): a third of the memory for large objects such as Deployments, for a decode per read.
    /// </summary>
    public bool Compact { get; init; }

    public int Count => byUid.Count;

    public T? Get(ObjectKey key) =>
        uidByKey.TryGetValue(key, out var uid) && byUid.TryGetValue(uid, out var entry) ? entry.Value : null;

    public IReadOnlyList<T> List() => [.. byUid.Values.Select(e => e.Value)];

    /// <summary>
    /// Adds a secondary index (register before <see cref="RunAsync"/>): <paramref name="values"/> gives the index values
    /// of an object, e.g. the keys of the Layers a Function uses (<see cref="ObjectKey.ToString"/> form).
    /// </summary>
    public void AddIndex(string name, Func<T, IEnumerable<string>> values) => indexes.Add(name, values);

    /// <summary>The cached objects whose index <paramref name="name"/> holds <paramref name="value"/>.</summary>
    public IReadOnlyList<T> ByIndex(string name, string value) =>
        [.. indexes.Uids(name, value).Select(uid => byUid.TryGetValue(uid, out var entry) ? entry.Value : null).OfType<T>()];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var relist = true;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (relist)
                {
                    var list = await source.ListAsync(cancellationToken).ConfigureAwait(false);
                    Replace(list.Items);
                    resourceVersion = list.ResourceVersion;
                    relist = false;
                    if (!synced)
                    {
                        synced = true;
                        syncedOnce.TrySetResult();
                        LogSynced(kind, list.Items.Count);
                    }
                }

                var outcome = await WatchOnceAsync(cancellationToken).ConfigureAwait(false);
                if (outcome.Error is not null)
                {
                    throw outcome.Error;
                }

                if (outcome.Expired)
                {
                    relist = true;
                    metrics.WatchRestarted(kind, "expired");
                    LogExpired(kind, resourceVersion);
                    continue;
                }

                failures = outcome.Events > 0 ? 0 : failures;
                metrics.WatchRestarted(kind, "closed");
                if (outcome.Events == 0 && time.GetUtcNow() - outcome.StartedAt < TimeSpan.FromSeconds(1))
                {
                    // A server that closes watches at once must not make us spin.
                    await Task.Delay(Backoff(++failures), time, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (IsGone(e))
            {
                relist = true;
                metrics.WatchRestarted(kind, "expired");
                LogExpired(kind, resourceVersion);
            }
            catch (Exception e)
            {
                failures++;
                metrics.WatchRestarted(kind, "error");
                var delay = Backoff(failures);
                LogWatchFailed(e, kind, delay.TotalMilliseconds);
                try
                {
                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    // Applies one watch stream to the cache; resourceVersion advances with every event, so a failure mid-stream
    // resumes after the last event seen.
    private async Task<WatchOutcome> WatchOnceAsync(CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var expired = false;
        Exception? error = null;
        var events = 0;
        var timeout = (int)(WatchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble()));
        var stream = source.WatchAsync(resourceVersion, timeout, e =>
        {
            if (IsGone(e))
            {
                expired = true;
            }
            else
            {
                error ??= e;
            }
        }, cancellationToken);
        await foreach (var (type, obj) in stream.ConfigureAwait(false))
        {
            events++;
            var rv = obj.Metadata?.ResourceVersion;
            switch (type)
            {
                case WatchEventType.Added:
                case WatchEventType.Modified:
                    Upsert(obj);
                    break;
                case WatchEventType.Deleted:
                    Remove(obj);
                    break;
            }

            if (!string.IsNullOrEmpty(rv))
            {
                resourceVersion = rv;
            }

            if (expired)
            {
                break;
            }
        }

        return new WatchOutcome(expired, error, events, started);
    }

    private void Replace(IReadOnlyList<T> items)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            seen.Add(item.Metadata.Uid);
            Upsert(item);
        }

        foreach (var (uid, entry) in byUid)
        {
            if (!seen.Contains(uid))
            {
                Remove(entry.Value);
            }
        }
    }

    private void Upsert(T obj)
    {
        Trim(obj);
        var key = ObjectKey.Of(obj);
        var uid = obj.Metadata.Uid;
        byUid.TryGetValue(uid, out var old);
        if (old is not null && old.ResourceVersion == obj.Metadata.ResourceVersion)
        {
            return; // the same state again (relist after a resumed watch)
        }

        if (uidByKey.TryGetValue(key, out var previousUid) && previousUid != uid && byUid.TryRemove(previousUid, out var replaced))
        {
            indexes.Remove(previousUid);
            Deleted?.Invoke(replaced.Value); // deleted and recreated under the same name while we were not watching
        }

        byUid[uid] = CachedObject<T>.Of(obj, Compact);
        uidByKey[key] = uid;
        indexes.Update(uid, obj);
        Upserted?.Invoke(old?.Value, obj);
    }

    // Cache only what reconciles use. managedFields is often as large as the rest of the object; an update sent
    // without it keeps the server's copy (a nil managedFields is "unchanged", unlike an empty list).
    private void Trim(T obj)
    {
        obj.Metadata.ManagedFields = null;
        if (DroppedAnnotations.Count > 0 && obj.Metadata.Annotations is { } annotations)
        {
            foreach (var name in DroppedAnnotations)
            {
                annotations.Remove(name);
            }
        }
    }

    private void Remove(T obj)
    {
        var uid = obj.Metadata.Uid;
        if (!byUid.TryRemove(uid, out var cached))
        {
            return;
        }

        uidByKey.TryRemove(new KeyValuePair<ObjectKey, string>(cached.Key, uid));
        indexes.Remove(uid);
        Deleted?.Invoke(obj);
    }

    private TimeSpan Backoff(int failures) => FnOperator.Contracts.Backoff.Jittered(failures, TimeSpan.FromMilliseconds(100), MaxBackoff);

    private static bool IsGone(Exception e) => e switch
    {
        KubernetesException k => k.Status?.Code == (int)HttpStatusCode.Gone,
        HttpOperationException h => h.Response?.StatusCode == HttpStatusCode.Gone,
        _ => false,
    };

    private sealed record WatchOutcome(
        bool Expired, Exception? Error, int Events, DateTimeOffset StartedAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Synced informer cache kind={Kind} objects={Count}")]
    private partial void LogSynced(string kind, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Relisting after expired watch kind={Kind} resourceVersion={ResourceVersion}")]
    private partial void LogExpired(string kind, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Restarting failed watch kind={Kind} backoffMs={BackoffMs}")]
    private partial void LogWatchFailed(Exception exception, string kind, double backoffMs);
}
