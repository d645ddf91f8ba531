using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation;

namespace FnOperator.KubeApiServer;

/// <summary>
/// The few built-in validation rules that controllers most often trip over in a real cluster: workload replicas,
/// a selector that matches the pod template's labels, and the selector being immutable (apps/v1); Events (both APIs).
/// </summary>
internal static class BuiltInValidation
{
    public static IEnumerable<FieldError> Validate(ResourceType type, JsonObject obj, JsonObject? old) => (type.Group, type.Plural) switch
    {
        ("apps", "deployments" or "replicasets" or "statefulsets") => ValidateWorkload(obj, old),
        ("" or "events.k8s.io", "events") => EventValidation.Validate(type.Group, obj, old),
        ("apps", "controllerrevisions") => ValidateControllerRevision(obj, old),
        ("networking.k8s.io", "ingresses") => IngressValidation.Validate(obj),
        ("", "configmaps") => ValidateConfigMapUpdate(obj, old),
        _ => [],
    };

    private static IEnumerable<FieldError> ValidateWorkload(JsonObject obj, JsonObject? old)
    {

        var spec = obj["spec"] as JsonObject;
        if (spec?["replicas"] is { } replicas)
        {
            if (replicas is not JsonValue v || !v.TryGetValue<long>(out var count))
            {
                yield return FieldError.TypeInvalid("spec.replicas", replicas, "must be an integer");
            }
            else if (count < 0)
            {
                yield return FieldError.Invalid("spec.replicas", replicas, "must be greater than or equal to 0");
            }
        }

        var selector = spec?["selector"] as JsonObject;
        if (selector is null)
        {
            yield return FieldError.Required("spec.selector");
            yield break;
        }

        var matchLabels = selector["matchLabels"] as JsonObject;
        var templateLabels = spec?["template"]?["metadata"]?["labels"] as JsonObject;
        if ((matchLabels is null || matchLabels.Count == 0) && selector["matchExpressions"] is not JsonArray { Count: > 0 })
        {
            yield return FieldError.Invalid("spec.selector", selector.DeepClone(), "empty selector is invalid for deployment");
        }
        else if (matchLabels is not null && matchLabels.Any(p => !JsonNode.DeepEquals(templateLabels?[p.Key], p.Value)))
        {
            yield return FieldError.Invalid("spec.template.metadata.labels", templateLabels?.DeepClone(), "`selector` does not match template `labels`");
        }

        if (old?["spec"]?["selector"] is { } oldSelector && !JsonNode.DeepEquals(oldSelector, selector))
        {
            yield return FieldError.Invalid("spec.selector", selector.DeepClone(), "field is immutable");
        }
    }

    // k8s.io/kubernetes pkg/apis/apps/validation: ValidateControllerRevision (data mandatory, revision >= 0) and
    // ValidateControllerRevisionUpdate (data is immutable; revision may change).
    private static IEnumerable<FieldError> ValidateControllerRevision(JsonObject obj, JsonObject? old)
    {
        if (obj["data"] is null)
        {
            yield return FieldError.Required("data", "data is mandatory");
        }

        if (obj["revision"] is JsonValue revision && revision.TryGetValue<long>(out var number) && number < 0)
        {
            yield return FieldError.Invalid("revision", revision.DeepClone(), "must be greater than or equal to 0");
        }

        if (old is not null && !JsonNode.DeepEquals(old["data"], obj["data"]))
        {
            yield return FieldError.Invalid("data", obj["data"]?.DeepClone(), "field is immutable");
        }
    }

    // k8s.io/kubernetes pkg/apis/core/validation: ValidateConfigMapUpdate (an immutable ConfigMap keeps immutable, data and binaryData).
    private static IEnumerable<FieldError> ValidateConfigMapUpdate(JsonObject obj, JsonObject? old)
    {
        if (old?["immutable"] is not JsonValue wasImmutable || !wasImmutable.TryGetValue<bool>(out var immutable) || !immutable)
        {
            yield break;
        }

        if (obj["immutable"] is not JsonValue isImmutable || !isImmutable.TryGetValue<bool>(out var still) || !still)
        {
            yield return FieldError.Forbidden("immutable", "field is immutable when `immutable` is set");
        }

        foreach (var field in new[] { "data", "binaryData" })
        {
            if (!JsonNode.DeepEquals(old[field], obj[field]))
            {
                yield return FieldError.Forbidden(field, "field is immutable when `immutable` is set");
            }
        }
    }
}
