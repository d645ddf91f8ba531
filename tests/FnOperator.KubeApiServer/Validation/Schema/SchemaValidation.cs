using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FnOperator.KubeApiServer.Validation.Schema;

/// <summary>
/// OpenAPI v3 validation of a (pruned, defaulted) custom resource, worded like kube-openapi's errors, followed by the
/// x-kubernetes-validations CEL rules of each node whose value has the right type.
/// </summary>
internal sealed class SchemaValidation(CelRules cel)
{
    public void Validate(JsonNode? value, JsonNode? old, JsonObject schema, string path, List<FieldError> errors, bool root = false)
    {
        var at = path.Length == 0 ? "body" : path;
        if (value is null)
        {
            if ((bool?)schema["nullable"] != true && (schema["type"] is not null || SchemaDefaulting.IsIntOrString(schema)))
            {
                errors.Add(FieldError.TypeInvalid(path, null, $"{at} in body must be of type {(string?)schema["type"] ?? "integer-or-string"}: \"null\""));
            }

            return;
        }

        var actual = TypeOf(value);
        var type = (string?)schema["type"];
        if (SchemaDefaulting.IsIntOrString(schema) ? actual is not ("integer" or "string") : type is not null && !Matches(type, actual))
        {
            errors.Add(FieldError.TypeInvalid(path, value, $"{at} in body must be of type {type ?? "integer-or-string"}: \"{actual}\""));
            return;
        }

        var before = errors.Count;
        switch (value)
        {
            case JsonObject obj:
                ValidateObject(obj, old as JsonObject, schema, path, errors, root);
                break;
            case JsonArray array:
                ValidateArray(array, old as JsonArray, schema, path, errors);
                break;
            default:
                ValidateScalar((JsonValue)value, schema, path, at, errors);
                break;
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, value)))
        {
            errors.Add(FieldError.NotSupported(path, value, allowed));
        }

        if (errors.Count == before)
        {
            cel.Validate(value, old, schema, path, type ?? actual, errors);
        }
    }

    private void ValidateObject(JsonObject obj, JsonObject? old, JsonObject schema, string path, List<FieldError> errors, bool root)
    {
        if (schema["maxProperties"] is JsonValue maxProperties && obj.Count > (long)maxProperties)
        {
            errors.Add(FieldError.TooMany(path, obj.Count, (long)maxProperties));
        }

        if (schema["minProperties"] is JsonValue minProperties && obj.Count < (long)minProperties)
        {
            errors.Add(FieldError.Invalid(path, obj.Count, $"{path} in body should have at least {(long)minProperties} properties"));
        }

        foreach (var required in schema["required"] as JsonArray ?? [])
        {
            if (!obj.ContainsKey((string)required!))
            {
                errors.Add(FieldError.Required(SchemaDefaulting.Child(path, (string)required!)));
            }
        }

        var properties = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"] as JsonObject;
        foreach (var (key, child) in obj)
        {
            if (root && key is "apiVersion" or "kind" or "metadata")
            {
                continue;
            }

            if (properties?[key] is JsonObject propertySchema)
            {
                Validate(child, old?[key], propertySchema, SchemaDefaulting.Child(path, key), errors);
            }
            else if (additional is not null)
            {
                Validate(child, old?[key], additional, $"{path}[{key}]", errors);
            }
        }
    }

    private void ValidateArray(JsonArray array, JsonArray? old, JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["maxItems"] is JsonValue maxItems && array.Count > (long)maxItems)
        {
            errors.Add(FieldError.TooMany(path, array.Count, (long)maxItems));
        }

        if (schema["minItems"] is JsonValue minItems && array.Count < (long)minItems)
        {
            errors.Add(FieldError.Invalid(path, array, $"{path} in body should have at least {(long)minItems} items"));
        }

        var listType = (string?)schema["x-kubernetes-list-type"];
        var keys = (schema["x-kubernetes-list-map-keys"] as JsonArray)?.Select(k => (string)k!).ToList() ?? [];
        var seen = new List<JsonNode?>();
        for (var i = 0; i < array.Count; i++)
        {
            var identity = listType == "map" ? new JsonObject(keys.Select(k => KeyValuePair.Create(k, array[i]?[k]?.DeepClone()))) : array[i];
            if (listType is "set" or "map" && seen.Any(s => JsonNode.DeepEquals(s, identity)))
            {
                errors.Add(FieldError.Duplicate($"{path}[{i}]", identity));
            }

            seen.Add(identity);
            if (schema["items"] is JsonObject items)
            {
                // Transition rules see oldSelf only for list items correlated by their map keys, as in Kubernetes.
                var oldItem = listType == "map" ? old?.FirstOrDefault(o => keys.All(k => JsonNode.DeepEquals(o?[k], array[i]?[k]))) : null;
                Validate(array[i], oldItem, items, $"{path}[{i}]", errors);
            }
        }
    }

    private static void ValidateScalar(JsonValue value, JsonObject schema, string path, string at, List<FieldError> errors)
    {
        if (value.GetValueKind() == JsonValueKind.Number)
        {
            var number = value.GetValue<double>();
            if (schema["minimum"] is JsonValue min)
            {
                var exclusive = (bool?)schema["exclusiveMinimum"] == true;
                if (exclusive ? number <= (double)min : number < (double)min)
                {
                    errors.Add(FieldError.Invalid(path, value, $"{at} in body should be greater than {(exclusive ? "" : "or equal to ")}{FieldError.Format(min)}"));
                }
            }

            if (schema["maximum"] is JsonValue max)
            {
                var exclusive = (bool?)schema["exclusiveMaximum"] == true;
                if (exclusive ? number >= (double)max : number > (double)max)
                {
                    errors.Add(FieldError.Invalid(path, value, $"{at} in body should be less than {(exclusive ? "" : "or equal to ")}{FieldError.Format(max)}"));
                }
            }

            if (schema["multipleOf"] is JsonValue multiple && Math.IEEERemainder(number, (double)multiple) != 0)
            {
                errors.Add(FieldError.Invalid(path, value, $"{at} in body should be a multiple of {FieldError.Format(multiple)}"));
            }
        }

        if (value.GetValueKind() != JsonValueKind.String)
        {
            return;
        }

        var text = value.GetValue<string>();
        if (schema["maxLength"] is JsonValue maxLength && text.EnumerateRunes().Count() > (long)maxLength)
        {
            errors.Add(FieldError.TooLong(path, (long)maxLength));
        }

        if (schema["minLength"] is JsonValue minLength && text.EnumerateRunes().Count() < (long)minLength)
        {
            errors.Add(FieldError.Invalid(path, value, $"{at} in body should be at least {(long)minLength} chars long"));
        }

        if (schema["pattern"] is JsonValue pattern && !Regex.IsMatch(text, (string)pattern!, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)))
        {
            errors.Add(FieldError.Invalid(path, value, $"{at} in body should match '{(string)pattern!}'"));
        }

        if (schema["format"] is JsonValue format && !SchemaFormats.IsValid((string)format!, text))
        {
            errors.Add(FieldError.Invalid(path, value, $"{at} in body must be of type {(string)format!}: {FieldError.Format(value)}"));
        }
    }

    private static bool Matches(string type, string actual) => type == actual || (type == "number" && actual == "integer");

    public static string TypeOf(JsonNode value) => value switch
    {
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Number => v.TryGetValue<long>(out _) ? "integer" : "number",
            _ => "null",
        },
        _ => "null",
    };
}
