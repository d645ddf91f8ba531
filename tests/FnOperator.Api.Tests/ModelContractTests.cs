using System.ComponentModel;
using System.Reflection;
using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation;
using k8s;
using k8s.Models;

namespace FnOperator.Api.Tests;

/// <summary>The C# model types and the CRDs agree: what the operator writes validates, and nothing users write is lost.</summary>
public sealed class ModelContractTests
{
    private static readonly CrdSchemaValidator Validator = CrdSchemaValidator.LoadDirectory(RepoPaths.Crds);

    [Fact]
    public void Objects_built_from_the_model_types_validate_including_status()
    {
        var now = new DateTime(2026, 11, 23, 12, 0, 0, DateTimeKind.Utc);
        var ready = new V1Condition { Type = "Ready", Status = "True", Reason = "Ready", Message = "Serving.", LastTransitionTime = now, ObservedGeneration = 1 };
        object[] objects =
        [
            new Function
            {
                Metadata = new V1ObjectMeta { Name = "all-defaults" },
                Spec = new FunctionSpec
                {
                    Runtime = "python3.12",
                    Handler = "app.handler",
                    Code = new FunctionCode { ConfigMap = new ConfigMapCodeSource { Name = "code" } },
                    Concurrency = new ConcurrencySpec(),
                    Scaling = new ScalingSpec(),
                    Async = new AsyncSpec { Destinations = new DestinationConfig { OnFailure = new Destination { Queue = "failed" } } },
                },
                Status = new FunctionStatus { Conditions = [ready], ObservedGeneration = 1, LatestVersion = "$LATEST", Replicas = 1, ReadyReplicas = 1 },
            },
            new Layer
            {
                Metadata = new V1ObjectMeta { Name = "lib" },
                Spec = new LayerSpec { Content = new LayerContent { Image = "registry.example.com/lib:1" } },
                Status = new LayerStatus { LatestVersion = 1, Versions = [new LayerVersion { Version = 1, CodeSha256 = new string('a', 64), CreatedAt = now }], Conditions = [ready] },
            },
            new Alias
            {
                Metadata = new V1ObjectMeta { Name = "live" },
                Spec = new AliasSpec { FunctionName = "hello", FunctionVersion = "1", RoutingConfig = new AliasRoutingConfig { AdditionalVersionWeights = new() { ["2"] = 0.25 } } },
                Status = new AliasStatus { Conditions = [ready] },
            },
            new EventSourceMapping
            {
                Metadata = new V1ObjectMeta { Name = "tick" },
                Spec = new EventSourceMappingSpec
                {
                    FunctionName = "hello",
                    Source = new EventSource { Schedule = new ScheduleSource { Expression = "rate(1 hour)", Input = JsonNode.Parse("""{"a":[1,2]}""") } },
                },
                Status = new EventSourceMappingStatus { Conditions = [ready], State = "Enabled", LastProcessingResult = "OK", LastProcessedAt = now },
            },
        ];

        foreach (var obj in objects)
        {
            var errors = Validator.Validate(JsonNode.Parse(KubernetesJson.Serialize(obj))!);
            Assert.True(errors.Count == 0, $"{obj.GetType().Name}: {string.Join("; ", errors)}");
        }
    }

    [Fact]
    public void Model_types_keep_every_field_of_the_examples()
    {
        var documents = Directory.EnumerateFiles(RepoPaths.Examples, "*.yaml", SearchOption.AllDirectories)
            .Where(f => !f.Contains("node_modules", StringComparison.Ordinal))
            .SelectMany(f => YamlJson.ParseDocuments(File.ReadAllText(f)).Select(d => (File: f, Doc: d)))
            .Where(d => ((string?)d.Doc?["apiVersion"])?.StartsWith("fnoperator.io/", StringComparison.Ordinal) == true)
            .ToList();
        Assert.NotEmpty(documents);
        foreach (var (file, doc) in documents)
        {
            var kind = (string)doc!["kind"]!;
            var json = doc.ToJsonString();
            var back = JsonNode.Parse(kind switch
            {
                Function.KindName => RoundTrip<Function>(json),
                Layer.KindName => RoundTrip<Layer>(json),
                Alias.KindName => RoundTrip<Alias>(json),
                EventSourceMapping.KindName => RoundTrip<EventSourceMapping>(json),
                _ => throw new InvalidOperationException($"unexpected kind {kind}"),
            })!;
            var lost = MissingLeaves(doc, back, "").ToList();
            Assert.True(lost.Count == 0, $"{Path.GetRelativePath(RepoPaths.Root, file)}: the {kind} model drops {string.Join(", ", lost)}");
        }
    }

    [Theory]
    [InlineData(typeof(FunctionSpec))]
    [InlineData(typeof(ConcurrencySpec))]
    [InlineData(typeof(ScalingSpec))]
    [InlineData(typeof(AsyncSpec))]
    [InlineData(typeof(EventSourceMappingSpec))]
    public void Schema_defaults_equal_the_model_initial_values(Type type)
    {
        var instance = Activator.CreateInstance(type)!;
        var withDefaults = type.GetProperties().Where(p => p.GetCustomAttribute<DefaultValueAttribute>() is not null).ToList();
        Assert.NotEmpty(withDefaults);
        foreach (var property in withDefaults)
        {
            Assert.Equal(property.GetCustomAttribute<DefaultValueAttribute>()!.Value, property.GetValue(instance));
        }
    }

    [Fact]
    public void Published_layer_versions_are_immutable_but_new_versions_can_be_added()
    {
        var crd = Validator.Find("fnoperator.io", "Layer")!;
        var v1 = """{"version":1,"codeSha256":"%A","createdAt":"2026-11-01T00:00:00Z","url":"https://a/1.zip"}""".Replace("%A", new string('a', 64), StringComparison.Ordinal);
        var v1Changed = v1.Replace("https://a/1.zip", "https://a/other.zip", StringComparison.Ordinal);
        var v2 = """{"version":2,"codeSha256":"%B","createdAt":"2026-11-02T00:00:00Z"}""".Replace("%B", new string('b', 64), StringComparison.Ordinal);
        JsonNode Layer(params string[] versions) =>
            JsonNode.Parse("""{"apiVersion":"fnoperator.io/v1alpha1","kind":"Layer","metadata":{"name":"lib"},"spec":{"content":{"path":"c"}},"status":{"versions":["""
                + string.Join(",", versions) + "]}}")!;

        var added = Validator.Admit(crd, "v1alpha1", Layer(v1, v2), Layer(v1));
        Assert.Empty(added.Errors);

        var changed = Validator.Admit(crd, "v1alpha1", Layer(v1Changed), Layer(v1));
        var error = Assert.Single(changed.Errors);
        Assert.Contains("status.versions[0]", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("a published layer version is immutable", error.ToString(), StringComparison.Ordinal);
    }

    private static string RoundTrip<T>(string json) => KubernetesJson.Serialize(KubernetesJson.Deserialize<T>(json));

    /// <summary>Leaf paths of <paramref name="expected"/> whose value is absent or different in <paramref name="actual"/>.</summary>
    private static IEnumerable<string> MissingLeaves(JsonNode? expected, JsonNode? actual, string path)
    {
        switch (expected)
        {
            case JsonObject obj:
                foreach (var (key, child) in obj)
                {
                    foreach (var missing in MissingLeaves(child, (actual as JsonObject)?[key], $"{path}.{key}"))
                    {
                        yield return missing;
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var other = actual is JsonArray a && i < a.Count ? a[i] : null;
                    foreach (var missing in MissingLeaves(array[i], other, $"{path}[{i}]"))
                    {
                        yield return missing;
                    }
                }

                break;
            default:
                if (!JsonNode.DeepEquals(expected, actual))
                {
                    yield return path.TrimStart('.');
                }

                break;
        }
    }
}
