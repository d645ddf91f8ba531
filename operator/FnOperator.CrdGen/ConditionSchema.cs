using k8s.Models;

namespace FnOperator.CrdGen;

/// <summary>The schema of a list of metav1.Condition, as Kubernetes publishes it (a list map keyed by type).</summary>
public static class ConditionSchema
{
    public static V1JSONSchemaProps List(string description) => new()
    {
        Type = "array",
        Description = description,
        MaxItems = 32,
        XKubernetesListType = "map",
        XKubernetesListMapKeys = ["type"],
        Items = Item(),
    };

    private static V1JSONSchemaProps Item() => new()
    {
        Type = "object",
        Description = "A condition (metav1.Condition): one aspect of the object's current state.",
        Required = ["type", "status", "lastTransitionTime", "reason", "message"],
        Properties = new Dictionary<string, V1JSONSchemaProps>
        {
            ["type"] = new()
            {
                Type = "string",
                Description = "Type of condition in CamelCase, e.g. Ready.",
                MaxLength = 316,
                Pattern = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
            },
            ["status"] = new()
            {
                Type = "string",
                Description = "Status of the condition: True, False or Unknown.",
                EnumProperty = ["True", "False", "Unknown"],
            },
            ["observedGeneration"] = new()
            {
                Type = "integer",
                Format = "int64",
                Minimum = 0,
                Description = "The metadata.generation the condition was set from.",
            },
            ["lastTransitionTime"] = new()
            {
                Type = "string",
                Format = "date-time",
                Description = "Last time the condition changed from one status to another.",
            },
            ["reason"] = new()
            {
                Type = "string",
                Description = "Programmatic identifier in CamelCase for the condition's last transition.",
                MinLength = 1,
                MaxLength = 1024,
                Pattern = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
            },
            ["message"] = new()
            {
                Type = "string",
                Description = "Human-readable message with details about the transition.",
                MaxLength = 32768,
            },
        },
    };
}
