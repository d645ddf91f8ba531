using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FnOperator.Chart.Tests;

/// <summary>The objects of a rendered multi-document YAML stream, as JSON nodes (plain scalars typed as YAML 1.2 core).</summary>
internal sealed class Manifests(IReadOnlyList<JsonObject> objects)
{
    public IReadOnlyList<JsonObject> All => objects;

    public static Manifests Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var list = new List<JsonObject>();
        foreach (var doc in stream.Documents)
        {
            if (ToJson(doc.RootNode) is JsonObject obj)
            {
                list.Add(obj);
            }
        }

        return new Manifests(list);
    }

    public IEnumerable<JsonObject> OfKind(string kind) => objects.Where(o => Kind(o) == kind);

    public JsonObject Single(string kind, string name)
    {
        var matches = OfKind(kind).Where(o => Name(o) == name).ToList();
        Assert.True(matches.Count == 1, $"expected one {kind} {name}, found {matches.Count}; objects: {Describe()}");
        return matches[0];
    }

    public JsonObject? Find(string kind, string name) => OfKind(kind).FirstOrDefault(o => Name(o) == name);

    public string Describe() => string.Join(", ", objects.Select(o => $"{Kind(o)}/{Name(o)}"));

    public static string Kind(JsonObject o) => (string?)o["kind"] ?? "";

    public static string Name(JsonObject o) => (string?)o["metadata"]?["name"] ?? "";

    public static string? Namespace(JsonObject o) => (string?)o["metadata"]?["namespace"];

    /// <summary>Pod templates of every workload kind, with the owning object's kind/name.</summary>
    public IEnumerable<(string Owner, JsonObject PodSpec)> PodSpecs()
    {
        foreach (var o in objects)
        {
            var spec = Kind(o) switch
            {
                "Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet" or "Job" => o["spec"]?["template"]?["spec"],
                "CronJob" => o["spec"]?["jobTemplate"]?["spec"]?["template"]?["spec"],
                "Pod" => o["spec"],
                _ => null,
            };
            if (spec is JsonObject podSpec)
            {
                yield return ($"{Kind(o)}/{Name(o)}", podSpec);
            }
        }
    }

    public static IEnumerable<JsonObject> Containers(JsonObject podSpec) =>
        new[] { "initContainers", "containers", "ephemeralContainers" }
            .SelectMany(key => podSpec[key]?.AsArray() ?? [])
            .OfType<JsonObject>();

    public static IReadOnlyList<string> Strings(JsonNode? node) =>
        node?.AsArray().Select(n => n?.ToString() ?? "").ToList() ?? [];

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        return text switch
        {
            "" or "~" or "null" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            _ when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => JsonValue.Create(n),
            _ => JsonValue.Create(text),
        };
    }
}
