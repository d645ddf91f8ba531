using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer.Validation;

/// <summary>One version of a CRD: whether it is served/stored, its openAPIV3Schema and subresources.</summary>
public sealed record CrdVersion(string Name, bool Served, bool Storage, JsonObject? Schema, bool HasStatus, JsonObject? Scale);

/// <summary>A CustomResourceDefinition as the test server needs it.</summary>
public sealed record CrdDefinition(
    string Group,
    string Kind,
    string ListKind,
    string Plural,
    string Singular,
    IReadOnlyList<string> ShortNames,
    bool Namespaced,
    IReadOnlyList<CrdVersion> Versions)
{
    public string Name => $"{Plural}.{Group}";

    public CrdVersion? Version(string name) => Versions.FirstOrDefault(v => v.Name == name);

    /// <summary>Reads a CRD object (apiextensions.k8s.io/v1); throws <see cref="InvalidDataException"/> when it is not one.</summary>
    public static CrdDefinition FromObject(JsonObject crd)
    {
        if ((string?)crd["kind"] != "CustomResourceDefinition")
        {
            throw new InvalidDataException($"expected kind CustomResourceDefinition, found {(string?)crd["kind"] ?? "no kind"}");
        }

        var spec = crd["spec"] as JsonObject ?? throw new InvalidDataException("CustomResourceDefinition without spec");
        var names = spec["names"] as JsonObject ?? throw new InvalidDataException("CustomResourceDefinition without spec.names");
        var kind = (string?)names["kind"] ?? throw new InvalidDataException("CustomResourceDefinition without spec.names.kind");
        var plural = (string?)names["plural"] ?? throw new InvalidDataException("CustomResourceDefinition without spec.names.plural");
        var versions = (spec["versions"] as JsonArray ?? []).OfType<JsonObject>().Select(v => new CrdVersion(
            (string?)v["name"] ?? throw new InvalidDataException($"{plural}: a version without a name"),
            (bool?)v["served"] ?? true,
            (bool?)v["storage"] ?? false,
            v["schema"]?["openAPIV3Schema"] as JsonObject,
            v["subresources"]?["status"] is JsonObject,
            v["subresources"]?["scale"] as JsonObject)).ToList();
        if (versions.Count == 0)
        {
            throw new InvalidDataException($"{plural}: CustomResourceDefinition without versions");
        }

        return new CrdDefinition(
            (string?)spec["group"] ?? throw new InvalidDataException($"{plural}: CustomResourceDefinition without spec.group"),
            kind,
            (string?)names["listKind"] ?? kind + "List",
            plural,
            (string?)names["singular"] ?? kind.ToLowerInvariant(),
            [.. (names["shortNames"] as JsonArray ?? []).Select(n => (string)n!)],
            (string?)spec["scope"] != "Cluster",
            versions);
    }
}
