using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FnOperator.Chart.Tests;

/// <summary>
/// A structural check of a custom resource against its CRD's openAPIV3Schema (types, unknown fields, required, enum,
/// bounds, patterns) — enough to tell whether a manifest the docs and NOTES hand to users would be accepted.
/// CEL rules are not evaluated.
/// </summary>
internal static class CrdSchemaCheck
{
    public static IReadOnlyList<string> Validate(JsonObject obj)
    {
        var plural = Manifests.Kind(obj).ToLowerInvariant() + "s";
        var file = Path.Combine(Repo.Chart, "crds", $"{plural}.fnoperator.io.yaml");
        if (!File.Exists(file))
        {
            return [$"no CRD file {file}"];
        }

        var crd = Manifests.Parse(File.ReadAllText(file)).All.Single();
        var version = ((string?)obj["apiVersion"] ?? "").Split('/').Last();
        var schema = crd["spec"]!["versions"]!.AsArray().Single(v => (string?)v!["name"] == version)!["schema"]!["openAPIV3Schema"]!.AsObject();
        var errors = new List<string>();
        Check(obj, schema, "", errors);
        return errors;
    }

    private static void Check(JsonNode? value, JsonObject schema, string path, List<string> errors)
    {
        if (value is null || path == ".metadata")
        {
            return;
        }

        var type = (string?)schema["type"];
        switch (type)
        {
            case "object" when value is JsonObject o:
                CheckObject(o, schema, path, errors);
                return;
            case "array" when value is JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    Check(a[i], schema["items"]!.AsObject(), $"{path}[{i}]", errors);
                }

                return;
            case "string" when value is JsonValue v && v.TryGetValue<string>(out var s):
                if (schema["enum"] is JsonArray e && !e.Any(x => (string?)x == s))
                {
                    errors.Add($"{path}: '{s}' is not one of {e.ToJsonString()}");
                }

                if ((string?)schema["pattern"] is { } pattern && !Regex.IsMatch(s, pattern))
                {
                    errors.Add($"{path}: '{s}' does not match {pattern}");
                }

                return;
            case "integer" when value is JsonValue v && v.TryGetValue<long>(out var n):
                if ((long?)schema["minimum"] is { } min && n < min)
                {
                    errors.Add($"{path}: {n} < {min}");
                }

                if ((long?)schema["maximum"] is { } max && n > max)
                {
                    errors.Add($"{path}: {n} > {max}");
                }

                return;
            case "boolean" when value is JsonValue v && v.TryGetValue<bool>(out _):
            case null:
                return;
            default:
                if ((bool?)schema["x-kubernetes-int-or-string"] != true && (bool?)schema["x-kubernetes-preserve-unknown-fields"] != true)
                {
                    errors.Add($"{path}: expected {type}, got {value.ToJsonString()}");
                }

                return;
        }
    }

    private static void CheckObject(JsonObject o, JsonObject schema, string path, List<string> errors)
    {
        var properties = schema["properties"] as JsonObject;
        foreach (var required in Manifests.Strings(schema["required"]))
        {
            if (!o.ContainsKey(required))
            {
                errors.Add($"{path}.{required}: required");
            }
        }

        foreach (var (key, child) in o)
        {
            if (properties?[key] is JsonObject childSchema)
            {
                Check(child, childSchema, $"{path}.{key}", errors);
            }
            else if (schema["additionalProperties"] is JsonObject additional)
            {
                Check(child, additional, $"{path}.{key}", errors);
            }
            else if ((bool?)schema["x-kubernetes-preserve-unknown-fields"] != true && path != "")
            {
                errors.Add($"{path}.{key}: unknown field");
            }
        }
    }
}
