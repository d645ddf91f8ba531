using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FnOperator.KubeApiServer.Validation;

namespace FnOperator.KubeApiServer;

/// <summary>ObjectMeta rules the apiserver applies to every kind: names, labels, server-managed fields, generation.</summary>
internal static partial class MetadataRules
{
    /// <summary>Fields clients cannot set or change on update; the stored values win.</summary>
    private static readonly string[] ServerManaged = ["uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds", "name", "namespace", "resourceVersion"];

    public static string Timestamp(DateTimeOffset now) => now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    public static JsonObject Meta(JsonObject obj) => obj["metadata"] as JsonObject ?? throw ApiException.BadRequest("Object 'metadata' is missing or not an object");

    public static List<string> Finalizers(JsonObject obj) => [.. (obj["metadata"]?["finalizers"] as JsonArray ?? []).Select(f => (string?)f ?? "")];

    public static void SetFinalizers(JsonObject obj, IEnumerable<string> finalizers)
    {
        var list = finalizers.ToList();
        if (list.Count == 0)
        {
            Meta(obj).Remove("finalizers");
        }
        else
        {
            Meta(obj)["finalizers"] = new JsonArray([.. list.Select(f => JsonValue.Create(f))]);
        }
    }

    public static bool IsDeleting(JsonObject obj) => obj["metadata"]?["deletionTimestamp"] is not null;

    /// <summary>Keeps the stored server-managed metadata on an update.</summary>
    public static void KeepServerManaged(JsonObject updated, JsonObject existing)
    {
        var meta = Meta(updated);
        foreach (var field in ServerManaged)
        {
            meta.Remove(field);
            if (existing["metadata"]?[field] is { } value)
            {
                meta[field] = value.DeepClone();
            }
        }

        meta.Remove("managedFields");
    }

    /// <summary>
    /// Whether an update changes what metadata.generation counts: everything but metadata, and but status when the
    /// resource has a status subresource (Kubernetes' rule for custom resources; for built-ins that is their spec).
    /// </summary>
    public static bool GenerationChanges(ResourceType type, JsonObject existing, JsonObject updated)
    {
        static JsonObject Counted(JsonObject obj, bool withoutStatus)
        {
            var copy = (JsonObject)obj.DeepClone();
            copy.Remove("metadata");
            copy.Remove("apiVersion");
            copy.Remove("kind");
            if (withoutStatus)
            {
                copy.Remove("status");
            }

            return copy;
        }

        return !JsonNode.DeepEquals(Counted(existing, type.HasStatus), Counted(updated, type.HasStatus));
    }

    public static void BumpGeneration(JsonObject obj) => Meta(obj)["generation"] = ((long?)obj["metadata"]?["generation"] ?? 0) + 1;

    /// <summary>Name and label checks, worded like the apiserver's.</summary>
    public static List<FieldError> Validate(ResourceType type, JsonObject obj)
    {
        var errors = new List<FieldError>();
        var meta = obj["metadata"] as JsonObject;
        var name = (string?)meta?["name"];
        if (string.IsNullOrEmpty(name))
        {
            errors.Add(FieldError.Required("metadata.name", "name or generateName is required"));
        }
        else if (type.Plural is "namespaces" or "services" ? !DnsLabel().IsMatch(name) || name.Length > 63 : !DnsSubdomain().IsMatch(name) || name.Length > 253)
        {
            errors.Add(type.Plural is "namespaces" or "services"
                ? FieldError.Invalid("metadata.name", name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
                : FieldError.Invalid("metadata.name", name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
        }

        foreach (var (key, value) in meta?["labels"] as JsonObject ?? [])
        {
            var text = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
            if (text is null || text.Length > 63 || !LabelValue().IsMatch(text))
            {
                errors.Add(FieldError.Invalid($"metadata.labels", value?.DeepClone(), "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
            }

            if (key.Length == 0 || key.Split('/').Last().Length > 63 || !LabelKey().IsMatch(key))
            {
                errors.Add(FieldError.Invalid("metadata.labels", key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
            }
        }

        return errors;
    }

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex(@"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();

    [GeneratedRegex(@"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex LabelKey();
}
