using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer;

/// <summary>The scale subresource: an autoscaling/v1 Scale view of an object's replicas, and writing it back.</summary>
internal static class ScaleView
{
    public static JsonObject From(ResourceType type, JsonObject obj)
    {
        var paths = type.Scale!;
        var meta = obj["metadata"]!;
        var selector = type.Plural is "deployments" or "replicasets" or "statefulsets"
            ? LabelSelector.FromMatchLabels(obj["spec"]?["selector"]?["matchLabels"] as JsonObject)
            : paths.LabelSelector is null ? null : (string?)At(obj, paths.LabelSelector);
        var status = new JsonObject { ["replicas"] = (long?)At(obj, paths.StatusReplicas) ?? 0 };
        if (!string.IsNullOrEmpty(selector))
        {
            status["selector"] = selector;
        }

        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = meta["name"]?.DeepClone(),
                ["namespace"] = meta["namespace"]?.DeepClone(),
                ["uid"] = meta["uid"]?.DeepClone(),
                ["resourceVersion"] = meta["resourceVersion"]?.DeepClone(),
                ["creationTimestamp"] = meta["creationTimestamp"]?.DeepClone(),
            },
            ["spec"] = new JsonObject { ["replicas"] = (long?)At(obj, paths.SpecReplicas) ?? 0 },
            ["status"] = status,
        };
    }

    /// <summary>The object with the Scale's spec.replicas written to its replicas path (and the Scale's resourceVersion as precondition).</summary>
    public static JsonObject Apply(ResourceType type, JsonObject obj, JsonObject scale)
    {
        var replicas = scale["spec"]?["replicas"] is JsonValue v && v.TryGetValue<long>(out var r) ? r
            : throw ApiException.BadRequest("Scale spec.replicas must be an integer");
        if (replicas < 0)
        {
            throw ApiException.Invalid(type, (string?)obj["metadata"]?["name"] ?? "", [Validation.FieldError.Invalid("spec.replicas", replicas, "must be greater than or equal to 0")]);
        }

        var segments = type.Scale!.SpecReplicas.Trim('.').Split('.');
        JsonObject current = obj;
        foreach (var segment in segments[..^1])
        {
            current = current[segment] as JsonObject ?? (JsonObject)(current[segment] = new JsonObject());
        }

        current[segments[^1]] = replicas;
        obj["metadata"]!["resourceVersion"] = scale["metadata"]?["resourceVersion"]?.DeepClone();
        return obj;
    }

    private static JsonNode? At(JsonObject obj, string path) =>
        path.Trim('.').Split('.').Aggregate((JsonNode?)obj, (node, segment) => node?[segment]);
}
