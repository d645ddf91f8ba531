using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using FnOperator.Api.Schema;
using k8s.Models;

namespace FnOperator.Api;

/// <summary>A Lambda-style alias: a named pointer to a function version, optionally splitting traffic with a second version.</summary>
[Description("A Lambda-style alias: a name (used as the Qualifier of an invocation) that points to a published version of a Function, optionally sending a weighted share of invocations to one additional version (canary).")]
[CustomResource(KindName, Plural, "fnalias", Singular = "alias")]
[PrinterColumn(1, "Function", "string", ".spec.functionName", "The function the alias belongs to.")]
[PrinterColumn(2, "Version", "string", ".spec.functionVersion", "The version that receives the main share of invocations.")]
[PrinterColumn(3, "Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Whether the alias resolves to published versions.")]
[PrinterColumn(4, "Age", "date", ".metadata.creationTimestamp", "Time since the alias was created.")]
public sealed class Alias() : CustomResource<AliasSpec, AliasStatus>(KindName)
{
    public const string KindName = "Alias";
    public const string Plural = "aliases";
}

[Description("Desired state of an Alias.")]
[CelRule("self.functionVersion != '$LATEST' || !has(self.routingConfig)",
    "routingConfig requires functionVersion to be a published version, not $LATEST", FieldPath = ".routingConfig", Reason = "FieldValueForbidden")]
[CelRule("!has(self.routingConfig) || !has(self.routingConfig.additionalVersionWeights) || !(self.functionVersion in self.routingConfig.additionalVersionWeights)",
    "the additional version must differ from functionVersion", FieldPath = ".routingConfig.additionalVersionWeights")]
public sealed class AliasSpec
{
    [JsonPropertyName("name")]
    [MinLength(1)]
    [MaxLength(128)]
    [RegularExpression("^[a-zA-Z0-9_-]*[a-zA-Z_-][a-zA-Z0-9_-]*$")]
    [Description("The alias name callers give as Qualifier (or FunctionName name:alias), unique per function; defaults to metadata.name. Letters, digits, - and _, not all digits.")]
    public string? Name { get; set; }

    [JsonPropertyName("functionName")]
    [Required]
    [MinLength(1)]
    [MaxLength(253)]
    [Description("Name of the Function, in the alias's namespace, that the alias points to.")]
    public string FunctionName { get; set; } = "";

    [JsonPropertyName("functionVersion")]
    [Required]
    [MaxLength(16)]
    [RegularExpression("^([1-9][0-9]*|\\$LATEST)$")]
    [Description("The version that receives invocations through the alias: a published version number such as \"1\", or $LATEST.")]
    public string FunctionVersion { get; set; } = "";

    [JsonPropertyName("description")]
    [MaxLength(256)]
    [Description("Free-text description of the alias (at most 256 characters).")]
    public string? Description { get; set; }

    [JsonPropertyName("routingConfig")]
    [Description("Weighted traffic shifting to one additional version (canary or blue/green).")]
    public AliasRoutingConfig? RoutingConfig { get; set; }
}

[Description("Traffic shifting of an alias, as Lambda's AliasRoutingConfiguration.")]
public sealed class AliasRoutingConfig
{
    [JsonPropertyName("additionalVersionWeights")]
    [MapSize(0, 1)]
    [Range(0.0, 1.0)]
    [CelRule("self.all(k, k.matches('^[1-9][0-9]*$'))", "keys must be published version numbers such as \"2\"")]
    [CelRule("size(self) <= 1", "at most one additional version can receive traffic")]
    [Description("Map of one additional published version (key, e.g. \"2\") to the share of invocations it receives: a number from 0.0 to 1.0 (e.g. 0.1 = 10%). functionVersion receives the rest. At most one entry; the key must differ from functionVersion.")]
    public Dictionary<string, double>? AdditionalVersionWeights { get; set; }
}

[Description("Observed state of an Alias.")]
public sealed class AliasStatus : IConditionedStatus
{
    [JsonPropertyName("conditions")]
    [Description("The Ready condition: whether the function and every version the alias names exist.")]
    public List<V1Condition>? Conditions { get; set; }

    [JsonPropertyName("observedGeneration")]
    [Description("The metadata.generation this status describes.")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("aliasArn")]
    [Description("The ARN-like identifier of the alias that the Invoke API accepts as FunctionName.")]
    public string? AliasArn { get; set; }

    [JsonPropertyName("resolvedVersions")]
    [Description("The versions invocations through the alias go to, with their shares (they add up to 1), once every named version exists.")]
    public List<AliasVersionWeight>? ResolvedVersions { get; set; }
}

[Description("A version an alias routes to and its share of invocations.")]
public sealed class AliasVersionWeight
{
    [JsonPropertyName("version")]
    [Description("$LATEST or a published version number.")]
    public string Version { get; set; } = "";

    [JsonPropertyName("weight")]
    [Description("Share of invocations, 0.0-1.0.")]
    public double Weight { get; set; }
}
