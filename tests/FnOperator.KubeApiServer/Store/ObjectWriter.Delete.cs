using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer;

/// <summary>DeleteOptions as the server reads them from the body or query.</summary>
public sealed record DeleteOptions(string? PropagationPolicy = null, string? PreconditionUid = null, string? PreconditionResourceVersion = null, bool DryRun = false);

public sealed partial class ObjectWriter
{
    public const string ForegroundFinalizer = "foregroundDeletion";

    /// <summary>
    /// Deletes an object. With finalizers (or foreground propagation) it only gets deletionTimestamp and stays until
    /// they are removed; returns the object and whether it is gone. Orphan strips the ownerReferences of dependents;
    /// Background leaves them to the garbage collector.
    /// </summary>
    public (JsonObject Object, bool Deleted) Delete(ResourceType type, string? ns, string name, DeleteOptions delete)
    {
        lock (store.Gate)
        {
            var existing = store.Get(type.StorageKey, Key(type, ns), name) ?? throw ApiException.NotFound(type, name);
            var uid = (string)existing["metadata"]!["uid"]!;
            if (delete.PreconditionUid is { Length: > 0 } expectedUid && expectedUid != uid)
            {
                throw ApiException.Conflict(type, name, $"Precondition failed: UID in precondition: {expectedUid}, UID in object meta: {uid}");
            }

            var version = (string?)existing["metadata"]!["resourceVersion"];
            if (delete.PreconditionResourceVersion is { Length: > 0 } expectedVersion && expectedVersion != version)
            {
                throw ApiException.Conflict(type, name, $"Precondition failed: ResourceVersion in precondition: {expectedVersion}, ResourceVersion in object meta: {version}");
            }

            if (delete.PropagationPolicy is { } policy && policy is not ("Background" or "Foreground" or "Orphan"))
            {
                throw ApiException.Invalid(type, name, [Validation.FieldError.NotSupported("propagationPolicy", policy, ["Foreground", "Background", "Orphan"])]);
            }

            if (delete.DryRun)
            {
                return (existing, false);
            }

            if (delete.PropagationPolicy == "Orphan")
            {
                Orphan(uid);
            }

            var finalizers = MetadataRules.Finalizers(existing);
            if (delete.PropagationPolicy == "Foreground" && !finalizers.Contains(ForegroundFinalizer))
            {
                finalizers.Add(ForegroundFinalizer);
            }

            if (finalizers.Count == 0 && type.Plural != "namespaces")
            {
                if (type.Plural == "customresourcedefinitions")
                {
                    registry.RemoveCrd(name); // its resources stop being served (their objects stay in the store, unreachable)
                }

                return (store.Remove(type.StorageKey, Key(type, ns), name)!, true);
            }

            var pending = (JsonObject)existing.DeepClone();
            MetadataRules.SetFinalizers(pending, finalizers);
            if (!MetadataRules.IsDeleting(pending))
            {
                MetadataRules.Meta(pending)["deletionTimestamp"] = MetadataRules.Timestamp(time.GetUtcNow());
                MetadataRules.Meta(pending)["deletionGracePeriodSeconds"] = 0;
                if (type.HasGeneration)
                {
                    MetadataRules.BumpGeneration(pending);
                }

                if (type.Plural == "namespaces")
                {
                    pending["status"] = new JsonObject { ["phase"] = "Terminating" };
                }
            }

            return JsonNode.DeepEquals(existing, pending) ? (existing, false) : (store.Put(type.StorageKey, Key(type, ns), name, pending, "MODIFIED"), false);
        }
    }

    /// <summary>Removes a finalizer (as its controller would); deletes the object when it was the last one.</summary>
    public void RemoveFinalizer(ResourceType type, string? ns, string name, string finalizer) =>
        Update(type, ns, name, null, obj =>
        {
            MetadataRules.SetFinalizers(obj, MetadataRules.Finalizers(obj).Where(f => f != finalizer));
            return obj;
        }, new WriteOptions(InjectFaults: false));

    /// <summary>The namespace controller's last step: drops spec.finalizers and removes the namespace.</summary>
    public void FinishNamespace(string name)
    {
        lock (store.Gate)
        {
            var nsType = registry.Find("", "v1", "namespaces")!;
            store.Remove(nsType.StorageKey, "", name);
        }
    }

    private void Orphan(string ownerUid)
    {
        foreach (var (resource, depNs, depName) in store.Dependents(ownerUid))
        {
            var dependent = store.Get(resource, depNs, depName)!;
            var owners = (JsonArray)dependent["metadata"]!["ownerReferences"]!;
            var kept = owners.Where(o => (string?)o?["uid"] != ownerUid).Select(o => o!.DeepClone()).ToList();
            if (kept.Count == 0)
            {
                MetadataRules.Meta(dependent).Remove("ownerReferences");
            }
            else
            {
                MetadataRules.Meta(dependent)["ownerReferences"] = new JsonArray([.. kept]);
            }

            store.Put(resource, depNs, depName, dependent, "MODIFIED");
        }
    }
}
