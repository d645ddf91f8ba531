using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer;

/// <summary>
/// Field selectors with =, == or !=: metadata.name and metadata.namespace on every resource, plus the fields the real
/// server adds per resource (core/v1 Events: involvedObject.*, reason, reportingComponent, source, type).
/// An unsupported field is a 400 "field label not supported", as on the real server.
/// </summary>
public sealed record FieldSelector(IReadOnlyList<(string Field, bool Equal, string Value)> Terms)
{
    private static readonly Dictionary<string, string[]> CoreEventFields = new(StringComparer.Ordinal)
    {
        ["involvedObject.kind"] = ["involvedObject", "kind"],
        ["involvedObject.namespace"] = ["involvedObject", "namespace"],
        ["involvedObject.name"] = ["involvedObject", "name"],
        ["involvedObject.uid"] = ["involvedObject", "uid"],
        ["involvedObject.apiVersion"] = ["involvedObject", "apiVersion"],
        ["involvedObject.resourceVersion"] = ["involvedObject", "resourceVersion"],
        ["involvedObject.fieldPath"] = ["involvedObject", "fieldPath"],
        ["reason"] = ["reason"],
        ["reportingComponent"] = ["reportingComponent"],
        ["source"] = ["source", "component"],
        ["type"] = ["type"],
    };

    private static readonly Dictionary<string, string[]> Common = new(StringComparer.Ordinal)
    {
        ["metadata.name"] = ["metadata", "name"],
        ["metadata.namespace"] = ["metadata", "namespace"],
    };

    public static FieldSelector Parse(string? text, ResourceType? type = null)
    {
        var terms = new List<(string, bool, string)>();
        foreach (var term in (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var notEqual = term.Contains("!=", StringComparison.Ordinal);
            var parts = notEqual ? term.Split("!=", 2) : term.Replace("==", "=", StringComparison.Ordinal).Split('=', 2);
            if (parts.Length != 2)
            {
                throw ApiException.BadRequest($"invalid selector: '{text}'; can't understand '{term}'");
            }

            var field = parts[0].Trim();
            if (PathOf(field, type) is null)
            {
                throw ApiException.BadRequest($"field label not supported: {field}");
            }

            terms.Add((field, !notEqual, parts[1].Trim()));
        }

        return new FieldSelector(terms);
    }

    public bool Matches(JsonObject obj) => Terms.All(t => (Read(obj, t.Field) ?? "") == t.Value == t.Equal);

    private static string? Read(JsonObject obj, string field)
    {
        JsonNode? node = obj;
        foreach (var step in PathOf(field, null) ?? CoreEventFields[field])
        {
            node = node?[step];
        }

        return node is JsonValue value && value.TryGetValue<string>(out var text) ? text : node?.ToJsonString();
    }

    private static string[]? PathOf(string field, ResourceType? type) =>
        Common.GetValueOrDefault(field) ??
        (type is null or { Group: "", Plural: "events" } ? CoreEventFields.GetValueOrDefault(field) : null);
}
