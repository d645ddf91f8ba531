using System.Text.Json.Serialization;
using FnOperator.Api;
using FnOperator.Api.Schema;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Hosting.Gadgets;

/// <summary>
/// A small extra kind for the framework tests: a Gadget copies the value of a source ConfigMap and its own greeting
/// into a child ConfigMap it owns. Served by the API test server from <see cref="Crd"/>.
/// </summary>
[CustomResource("Gadget", "gadgets", "gdg")]
public sealed class Gadget : CustomResource<GadgetSpec, GadgetStatus>
{
    public const string Group = "test.fnoperator.io";

    public Gadget()
        : base("Gadget") => ApiVersion = Group + "/v1";

    /// <summary>The CRD, as a user would apply it: status subresource, free-form spec and status.</summary>
    public static V1CustomResourceDefinition Crd => new()
    {
        Metadata = new V1ObjectMeta { Name = "gadgets." + Group },
        Spec = new V1CustomResourceDefinitionSpec
        {
            Group = Group,
            Scope = "Namespaced",
            Names = new V1CustomResourceDefinitionNames { Kind = "Gadget", Plural = "gadgets", Singular = "gadget", ListKind = "GadgetList" },
            Versions =
            [
                new V1CustomResourceDefinitionVersion
                {
                    Name = "v1",
                    Served = true,
                    Storage = true,
                    Subresources = new V1CustomResourceSubresources { Status = new object() },
                    Schema = new V1CustomResourceValidation
                    {
                        OpenAPIV3Schema = new V1JSONSchemaProps
                        {
                            Type = "object",
                            Properties = new Dictionary<string, V1JSONSchemaProps>
                            {
                                ["spec"] = new() { Type = "object", XKubernetesPreserveUnknownFields = true },
                                ["status"] = new() { Type = "object", XKubernetesPreserveUnknownFields = true },
                            },
                        },
                    },
                },
            ],
        },
    };
}

public sealed class GadgetSpec
{
    [JsonPropertyName("greeting")]
    public string Greeting { get; set; } = "";

    /// <summary>The ConfigMap (same namespace) whose "value" key the child carries.</summary>
    [JsonPropertyName("source")]
    public string Source { get; set; } = "";
}

public sealed class GadgetStatus : IConditionedStatus
{
    [JsonPropertyName("conditions")]
    public List<V1Condition>? Conditions { get; set; }

    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("child")]
    public string? Child { get; set; }
}
