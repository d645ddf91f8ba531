using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer.Validation.Schema;

/// <summary>
/// The structural-schema steps the apiserver runs before validation: drop nulls of non-nullable fields, prune fields
/// the schema does not declare (unless x-kubernetes-preserve-unknown-fields), then apply defaults.
/// </summary>
internal static class SchemaDefaulting
{
    private static readonly HashSet<string> RootFields = ["apiVersion", "kind", "metadata"];

    /// <summary>Prunes and defaults <paramref name="node"/> in place; unknown field paths are added to <paramref name="unknown"/>.</summary>
    public static void Apply(JsonNode? node, JsonObject schema, string path, List<string> unknown, bool root = false)
    {
        switch (node)
        {
            case JsonObject obj:
                ApplyObject(obj, schema, path, unknown, root);
                break;
            case JsonArray array when schema["items"] is JsonObject items:
                for (var i = 0; i < array.Count; i++)
                {
                    Apply(array[i], items, $"{path}[{i}]", unknown);
                }

                break;
        }
    }

    private static void ApplyObject(JsonObject obj, JsonObject schema, string path, List<string> unknown, bool root)
    {
        var properties = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"] as JsonObject;
        var preserve = (bool?)schema["x-kubernetes-preserve-unknown-fields"] == true;
        var embedded = (bool?)schema["x-kubernetes-embedded-resource"] == true;
        if (IsIntOrString(schema))
        {
            return;
        }

        foreach (var (key, value) in obj.ToList())
        {
            if ((root || embedded) && RootFields.Contains(key))
            {
                continue;
            }

            var fieldSchema = properties?[key] as JsonObject ?? additional;
            var fieldPath = Child(path, key);
            if (fieldSchema is null)
            {
                if (!preserve)
                {
                    unknown.Add(fieldPath);
                    obj.Remove(key);
                }

                continue;
            }

            if (value is null && (bool?)fieldSchema["nullable"] != true)
            {
                obj.Remove(key); // nulls of non-nullable fields are pruned before defaulting, as the apiserver does
                continue;
            }

            Apply(value, fieldSchema, fieldPath, unknown);
        }

        foreach (var (key, fieldSchema) in properties ?? [])
        {
            if (!obj.ContainsKey(key) && fieldSchema?["default"] is { } defaultValue)
            {
                var value = defaultValue.DeepClone();
                obj[key] = value;
                Apply(value, (JsonObject)fieldSchema, Child(path, key), unknown);
            }
        }
    }

    public static bool IsIntOrString(JsonObject schema) => (bool?)schema["x-kubernetes-int-or-string"] == true;

    public static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}
