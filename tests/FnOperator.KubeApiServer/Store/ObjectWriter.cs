using System.Net;
using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation;

namespace FnOperator.KubeApiServer;

/// <summary>Options of one write request: dry run, strict field validation, and where warnings go.</summary>
public sealed record WriteOptions(bool DryRun = false, bool Strict = false, bool InjectFaults = true)
{
    public List<string> Warnings { get; } = [];
}

/// <summary>
/// The write path every change takes (HTTP handlers, garbage collector, simulators): metadata rules, generation,
/// optimistic concurrency, CRD admission (pruning, defaulting, schema and CEL validation), finalizers.
/// </summary>
public sealed partial class ObjectWriter(ObjectStore store, ResourceRegistry registry, FaultInjector faults, TimeProvider time, KubeApiServerOptions options)
{
    private static string Key(ResourceType type, string? ns) => type.Namespaced ? ns ?? "" : "";

    public JsonObject Create(ResourceType type, string? ns, JsonObject body, WriteOptions write)
    {
        lock (store.Gate)
        {
            var obj = (JsonObject)body.DeepClone();
            var meta = MetadataRules.Meta(obj);
            CheckKind(type, obj);
            if (type.Namespaced)
            {
                var bodyNs = (string?)meta["namespace"];
                if (bodyNs is { Length: > 0 } && bodyNs != ns)
                {
                    throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
                }

                meta["namespace"] = ns;
                EnsureNamespaceAcceptsContent(ns!);
            }
            else
            {
                meta.Remove("namespace");
            }

            if (string.IsNullOrEmpty((string?)meta["name"]) && (string?)meta["generateName"] is { Length: > 0 } prefix)
            {
                meta["name"] = prefix + Guid.NewGuid().ToString("N")[..5];
            }

            foreach (var field in new[] { "uid", "resourceVersion", "generation", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields" })
            {
                meta.Remove(field);
            }

            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = MetadataRules.Timestamp(time.GetUtcNow());
            if (type.HasGeneration)
            {
                meta["generation"] = 1;
            }

            if (type.Plural == "namespaces")
            {
                obj["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") };
                obj["status"] = new JsonObject { ["phase"] = "Active" };
            }
            else if (type.HasStatus)
            {
                if (type.Scale is not null && type.Crd is null && obj["spec"] is JsonObject spec && !spec.ContainsKey("replicas"))
                {
                    spec["replicas"] = 1; // the built-in workloads' defaulting
                }

                obj.Remove("status"); // resources with a status subresource ignore status on create
            }

            obj = Admit(type, obj, null, write);
            var name = (string)obj["metadata"]!["name"]!;
            if (store.Get(type.StorageKey, Key(type, ns), name) is not null)
            {
                throw ApiException.AlreadyExists(type, name);
            }

            if (write.DryRun)
            {
                return obj;
            }

            var stored = store.Put(type.StorageKey, Key(type, ns), name, obj, "ADDED");
            if (type.Plural == "customresourcedefinitions")
            {
                registry.AddCrd(CrdDefinition.FromObject(stored));
            }

            return stored;
        }
    }

    /// <summary>
    /// Replaces an object (PUT, or the result of a PATCH) on the main resource or its status subresource. A non-empty
    /// metadata.resourceVersion in <paramref name="candidate"/> must match the stored one (else 409 Conflict).
    /// </summary>
    public JsonObject Update(ResourceType type, string? ns, string name, string? subresource, Func<JsonObject, JsonObject> candidateFrom, WriteOptions write)
    {
        lock (store.Gate)
        {
            var existing = store.Get(type.StorageKey, Key(type, ns), name) ?? throw ApiException.NotFound(type, name);
            var candidate = candidateFrom((JsonObject)existing.DeepClone());
            var meta = MetadataRules.Meta(candidate);
            if ((string?)meta["name"] is { Length: > 0 } bodyName && bodyName != name)
            {
                throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
            }

            if (type.Namespaced && (string?)meta["namespace"] is { Length: > 0 } bodyNs && bodyNs != ns)
            {
                throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }

            var precondition = (string?)meta["resourceVersion"];
            if (!string.IsNullOrEmpty(precondition) && precondition != (string?)existing["metadata"]!["resourceVersion"])
            {
                throw ApiException.Conflict(type, name);
            }

            if (write.InjectFaults && faults.NextUpdateConflicts())
            {
                throw ApiException.Conflict(type, name);
            }

            CheckKind(type, candidate);
            var updated = Merge(type, subresource, existing, candidate);
            if (type.HasGeneration && MetadataRules.GenerationChanges(type, existing, updated))
            {
                MetadataRules.BumpGeneration(updated);
            }

            updated = Admit(type, updated, existing, write);
            CheckFinalizers(type, name, existing, updated);
            if (JsonNode.DeepEquals(existing, updated) || write.DryRun)
            {
                return updated; // a no-op update does not change the resourceVersion
            }

            if (MetadataRules.IsDeleting(updated) && MetadataRules.Finalizers(updated).Count == 0 && type.Plural != "namespaces")
            {
                store.Remove(type.StorageKey, Key(type, ns), name);
                return updated; // removing the last finalizer of an object being deleted deletes it
            }

            return store.Put(type.StorageKey, Key(type, ns), name, updated, "MODIFIED");
        }
    }

    private static JsonObject Merge(ResourceType type, string? subresource, JsonObject existing, JsonObject candidate)
    {
        if (subresource == "status")
        {
            var withStatus = (JsonObject)existing.DeepClone();
            withStatus.Remove("status");
            if (candidate["status"] is { } status)
            {
                withStatus["status"] = status.DeepClone();
            }

            return withStatus;
        }

        var updated = (JsonObject)candidate.DeepClone();
        MetadataRules.KeepServerManaged(updated, existing);
        if (type.HasStatus)
        {
            updated.Remove("status"); // the main resource ignores status changes when there is a status subresource
            if (existing["status"] is { } status)
            {
                updated["status"] = status.DeepClone();
            }
        }

        return updated;
    }

    private JsonObject Admit(ResourceType type, JsonObject obj, JsonObject? old, WriteOptions write)
    {
        obj = JsonNode.Parse(obj.ToJsonString())!.AsObject(); // numbers set in code read back like parsed ones
        obj["apiVersion"] = type.ApiVersion;
        if (!type.AdHoc || obj["kind"] is null)
        {
            obj["kind"] = type.Kind;
        }

        var errors = MetadataRules.Validate(type, obj);
        errors.AddRange(BuiltInValidation.Validate(type, obj, old));
        if (type.Crd is not null)
        {
            var admitted = registry.Validator.Admit(type.Crd, type.Version, obj, old);
            if (admitted.UnknownFields.Count > 0 && write.Strict)
            {
                throw ApiException.BadRequest($"strict decoding error: {string.Join(", ", admitted.UnknownFields.Select(f => $"unknown field \"{f}\""))}");
            }

            write.Warnings.AddRange(admitted.UnknownFields.Select(f => $"unknown field \"{f}\""));
            errors.AddRange(admitted.Errors);
            obj = admitted.Object;
        }

        if (errors.Count > 0)
        {
            throw ApiException.Invalid(type, (string?)obj["metadata"]?["name"] ?? "", errors);
        }

        return obj;
    }

    private static void CheckKind(ResourceType type, JsonObject obj)
    {
        var kind = (string?)obj["kind"];
        var apiVersion = (string?)obj["apiVersion"];
        if ((kind is { Length: > 0 } && kind != type.Kind && !type.AdHoc) || (apiVersion is { Length: > 0 } && CrdSchemaValidator.SplitApiVersion(apiVersion).Group != type.Group))
        {
            throw ApiException.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({type.ApiVersion})");
        }
    }

    private static void CheckFinalizers(ResourceType type, string name, JsonObject existing, JsonObject updated)
    {
        var added = MetadataRules.Finalizers(updated).Except(MetadataRules.Finalizers(existing)).ToList();
        if (MetadataRules.IsDeleting(existing) && added.Count > 0)
        {
            throw ApiException.Invalid(type, name, [FieldError.Forbidden("metadata.finalizers", $"no new finalizers can be added if the object is being deleted, found new finalizers []string{{{string.Join(", ", added.Select(a => $"\"{a}\""))}}}")]);
        }
    }

    private void EnsureNamespaceAcceptsContent(string ns)
    {
        var nsType = registry.Find("", "v1", "namespaces")!;
        var namespaceObj = store.Get(nsType.StorageKey, "", ns);
        if (namespaceObj is null)
        {
            if (!options.AutoCreateNamespaces)
            {
                throw ApiException.NotFound(nsType, ns);
            }

            Create(nsType, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } }, new WriteOptions(InjectFaults: false));
        }
        else if (MetadataRules.IsDeleting(namespaceObj))
        {
            throw new ApiException(HttpStatusCode.Forbidden, "Forbidden", $"unable to create new content in namespace {ns} because it is being terminated");
        }
    }
}
