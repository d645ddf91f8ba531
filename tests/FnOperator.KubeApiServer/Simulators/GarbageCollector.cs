using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace FnOperator.KubeApiServer;

/// <summary>
/// Plays the garbage collector and namespace controller: deletes objects whose owners (ownerReferences by uid) are
/// all gone, deletes the dependents of objects in foreground deletion and then drops their foregroundDeletion
/// finalizer, and empties terminating namespaces before removing them. Runs after every change, in the background.
/// </summary>
public sealed class GarbageCollector(ObjectStore store, ObjectWriter writer, ResourceRegistry registry)
{
    private readonly Channel<StoredEvent?> work = Channel.CreateUnbounded<StoredEvent?>();

    public void OnChanged(StoredEvent e)
    {
        // Only these can leave work: a vanished owner, an object being deleted, or a new object whose owner is gone.
        if (e.Type == "DELETED" || MetadataRules.IsDeleting(e.Object))
        {
            work.Writer.TryWrite(null);
        }
        else if (e.Type == "ADDED" && e.Object["metadata"]?["ownerReferences"] is JsonArray { Count: > 0 })
        {
            work.Writer.TryWrite(e);
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await work.Reader.WaitToReadAsync(cancellationToken))
            {
                var sweep = false;
                while (work.Reader.TryRead(out var e))
                {
                    // a new dependent is checked on its own (cheap); only an orphan found makes a full sweep
                    sweep |= e is null || ((JsonArray)e.Object["metadata"]!["ownerReferences"]!).All(o => !store.Exists((string?)o?["uid"] ?? ""));
                }

                if (sweep)
                {
                    Sweep();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One pass over every object; repeated until nothing changes.</summary>
    public void Sweep()
    {
        while (SweepOnce())
        {
        }
    }

    private bool SweepOnce()
    {
        var all = store.All();
        var uids = all.ToDictionary(o => (string)o.Object["metadata"]!["uid"]!, o => o.Object);
        var terminating = all.Where(o => (string?)o.Object["kind"] == "Namespace" && MetadataRules.IsDeleting(o.Object)).Select(o => o.Name).ToHashSet();
        var changed = false;
        foreach (var (resource, ns, name, obj) in all)
        {
            var type = TypeOf(resource);
            if (type is null)
            {
                continue;
            }

            var owners = (obj["metadata"]?["ownerReferences"] as JsonArray ?? []).Select(o => (string?)o?["uid"] ?? "").ToList();
            var ownersGone = owners.Count > 0 && owners.All(uid => !uids.ContainsKey(uid));
            var ownerInForeground = owners.Any(uid => uids.TryGetValue(uid, out var owner) && MetadataRules.IsDeleting(owner) && MetadataRules.Finalizers(owner).Contains(ObjectWriter.ForegroundFinalizer));
            var ns_ = type.Namespaced ? ns : null;
            if ((ownersGone || ownerInForeground || (ns_ is not null && terminating.Contains(ns_))) && !MetadataRules.IsDeleting(obj))
            {
                changed |= Try(() => writer.Delete(type, ns_, name, new DeleteOptions(ownerInForeground ? "Foreground" : "Background")));
            }

            var uid = (string)obj["metadata"]!["uid"]!;
            if (MetadataRules.IsDeleting(obj) && MetadataRules.Finalizers(obj).Contains(ObjectWriter.ForegroundFinalizer) && !all.Any(o => OwnedBy(o.Object, uid)))
            {
                changed |= Try(() => writer.RemoveFinalizer(type, ns_, name, ObjectWriter.ForegroundFinalizer));
            }

            if (type.Plural == "namespaces" && MetadataRules.IsDeleting(obj) && !all.Any(o => o.Ns == name && TypeOf(o.Resource)?.Namespaced == true))
            {
                changed |= Try(() => writer.FinishNamespace(name));
            }
        }

        return changed;
    }

    private static bool OwnedBy(JsonObject obj, string uid) =>
        obj["metadata"]?["ownerReferences"] is JsonArray owners && owners.Any(o => (string?)o?["uid"] == uid);

    private ResourceType? TypeOf(string storageKey) => registry.Types.FirstOrDefault(t => t.StorageKey == storageKey);

    private static bool Try(Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (ApiException e) when (e.Code is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            return false; // changed meanwhile; the next sweep sees the new state
        }
    }
}
