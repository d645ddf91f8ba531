using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using FnOperator.Api.Schema;
using k8s.Models;

namespace FnOperator.Api;

/// <summary>A Lambda-style function: code, runtime and configuration, run as pods with a runtime-shim.</summary>
[CustomResource(KindName, Plural, "fn")]
[PrinterColumn(1, "Runtime", "string", ".spec.runtime", "Managed runtime (empty for container images).")]
[PrinterColumn(2, "Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Whether the function is ready to serve invocations.")]
[PrinterColumn(3, "Replicas", "integer", ".status.readyReplicas", "Ready pods of $LATEST.")]
[PrinterColumn(4, "Version", "string", ".status.latestVersion", "Highest published version, or $LATEST.")]
[PrinterColumn(5, "Reason", "string", ".status.conditions[?(@.type==\"Ready\")].reason", "Reason of the Ready condition.", Priority = 1)]
[PrinterColumn(6, "Age", "date", ".metadata.creationTimestamp", "Time since the function was created.")]
[Description("A Lambda-style function: its code, runtime and configuration. The operator runs it as a Deployment whose pods carry a runtime-shim serving the Lambda Runtime API.")]
public sealed class Function() : CustomResource<FunctionSpec, FunctionStatus>(KindName)
{
    public const string KindName = "Function";
    public const string Plural = "functions";
}

[Description("Desired state of a Function.")]
[CelRule("has(self.runtime) || has(self.code.image)", "spec.runtime is required unless spec.code.image is set", FieldPath = ".runtime", Reason = "FieldValueRequired")]
[CelRule("has(self.code.image) || has(self.handler) || (has(self.runtime) && self.runtime.startsWith('provided'))",
    "spec.handler is required for managed runtimes (all but provided.* and container images)", FieldPath = ".handler", Reason = "FieldValueRequired")]
[CelRule("!has(self.layers) || size(self.layers) == 0 || !has(self.code.image)",
    "spec.layers cannot be used with spec.code.image: a container image carries its own layers", FieldPath = ".layers", Reason = "FieldValueForbidden")]
public sealed class FunctionSpec
{
    [JsonPropertyName("runtime")]
    [MaxLength(32)]
    [RegularExpression("^[a-z][a-z0-9]*(\\.[a-z0-9]+)*$")]
    [RuntimeListDescription("Managed runtime identifier, as in AWS Lambda: ", ". Required unless code.image is set.")]
    public string? Runtime { get; set; }

    [JsonPropertyName("handler")]
    [MinLength(1)]
    [MaxLength(128)]
    [Description("Handler the runtime loads, e.g. index.handler (node), app.handler (python), Assembly::Type::Method (dotnet). Ignored by provided.* runtimes except that it is passed as _HANDLER.")]
    public string? Handler { get; set; }

    [JsonPropertyName("code")]
    [Required]
    [Description("Where the function's code comes from. Exactly one of image, url, configMap or path.")]
    public FunctionCode Code { get; set; } = new();

    [JsonPropertyName("layers")]
    [MaxLength(5)]
    [Description("Layers, in order, extracted into /opt (later layers overwrite earlier ones). At most 5.")]
    public List<LayerReference>? Layers { get; set; }

    [JsonPropertyName("memoryMiB")]
    [Range(128, 10240)]
    [DefaultValue(128)]
    [Description("Memory in MiB (128-10240): AWS_LAMBDA_FUNCTION_MEMORY_SIZE; the container memory limit is this plus the runtime-shim's share (32 MiB). CPU is allotted in proportion (1769 MiB = 1 vCPU).")]
    public int MemoryMiB { get; set; } = 128;

    [JsonPropertyName("timeoutSeconds")]
    [Range(1, 900)]
    [DefaultValue(3)]
    [Description("Maximum duration of one invocation in seconds (1-900). On timeout the invocation fails and the runtime is restarted.")]
    public int TimeoutSeconds { get; set; } = 3;

    [JsonPropertyName("ephemeralStorageMiB")]
    [Range(512, 10240)]
    [DefaultValue(512)]
    [Description("Size of /tmp in MiB (512-10240).")]
    public int EphemeralStorageMiB { get; set; } = 512;

    [JsonPropertyName("environment")]
    [MaxLength(256)]
    [ListMapKeys("name")]
    [Description("Environment variables for the function: literal values or references to Secret / ConfigMap keys.")]
    public List<EnvironmentVariable>? Environment { get; set; }

    [JsonPropertyName("serviceAccountName")]
    [MaxLength(253)]
    [Description("ServiceAccount the function's pods run as (the function's execution role).")]
    public string? ServiceAccountName { get; set; }

    [JsonPropertyName("concurrency")]
    [Description("Concurrency controls.")]
    public ConcurrencySpec? Concurrency { get; set; }

    [JsonPropertyName("scaling")]
    [Description("Autoscaling controls.")]
    public ScalingSpec? Scaling { get; set; }

    [JsonPropertyName("async")]
    [Description("Asynchronous invocation configuration: retries, event age and destinations.")]
    public AsyncSpec? Async { get; set; }

    [JsonPropertyName("versioning")]
    [Description("Publishing of immutable versions: autoPublish publishes the next version on every code or configuration change.")]
    public VersioningSpec? Versioning { get; set; }

    [JsonPropertyName("logging")]
    [Description("Log format (Text or JSON) and, with JSON, log levels: Lambda's LoggingConfig.")]
    public LoggingSpec? Logging { get; set; }

    [JsonPropertyName("url")]
    [Description("A Function URL for this function (Lambda's FunctionUrlConfig); none when unset.")]
    public FunctionUrlSpec? Url { get; set; }
}

[Description("Source of a function's or layer's code. Exactly one of image, url, configMap, path.")]
[CelRule("(has(self.image) ? 1 : 0) + (has(self.url) ? 1 : 0) + (has(self.configMap) ? 1 : 0) + (has(self.path) ? 1 : 0) == 1",
    "exactly one of image, url, configMap or path must be set")]
[CelRule("!has(self.url) || has(self.sha256)", "url requires sha256 (64 lowercase hex digits)", FieldPath = ".sha256", Reason = "FieldValueRequired")]
public sealed class FunctionCode
{
    [JsonPropertyName("image")]
    [MinLength(1)]
    [MaxLength(512)]
    [Description("A container image holding the runtime and the code (Lambda container image style). When set, runtime is optional.")]
    public string? Image { get; set; }

    [JsonPropertyName("url")]
    [MaxLength(2048)]
    [RegularExpression("^https?://.+")]
    [Description("HTTP(S) URL of a .zip archive of the code, extracted into /var/task. Requires sha256.")]
    public string? Url { get; set; }

    [JsonPropertyName("sha256")]
    [MaxLength(64)]
    [RegularExpression("^[a-f0-9]{64}$")]
    [Description("Lowercase hex SHA-256 of the archive at url; the download is rejected when it does not match.")]
    public string? Sha256 { get; set; }

    [JsonPropertyName("configMap")]
    [Description("A ConfigMap in the function's namespace whose keys are file names under /var/task (small inline functions).")]
    public ConfigMapCodeSource? ConfigMap { get; set; }

    [JsonPropertyName("path")]
    [MinLength(1)]
    [MaxLength(1024)]
    [Description("Local mode only: a directory with the code, relative to the manifest file.")]
    public string? Path { get; set; }
}

[Description("Code held in a ConfigMap.")]
public sealed class ConfigMapCodeSource
{
    [JsonPropertyName("name")]
    [Required]
    [MinLength(1)]
    [MaxLength(253)]
    [Description("Name of the ConfigMap in the function's namespace.")]
    public string Name { get; set; } = "";
}

[Description("A reference to a Layer version.")]
public sealed class LayerReference
{
    [JsonPropertyName("name")]
    [Required]
    [MinLength(1)]
    [MaxLength(253)]
    [Description("Name of the Layer in the function's namespace.")]
    public string Name { get; set; } = "";

    [JsonPropertyName("version")]
    [Range(1, int.MaxValue)]
    [Description("Layer version number; the latest version when omitted.")]
    public int? Version { get; set; }
}

[Description("An environment variable: a literal value or a reference to a Secret or ConfigMap key.")]
[CelRule("(has(self.value) ? 1 : 0) + (has(self.secretKeyRef) ? 1 : 0) + (has(self.configMapKeyRef) ? 1 : 0) <= 1",
    "set at most one of value, secretKeyRef, configMapKeyRef")]
[CelRule("!self.name.startsWith('AWS_') && !self.name.startsWith('LAMBDA_') && !self.name.startsWith('FNOP_') && !(self.name in ['_HANDLER', '_X_AMZN_TRACE_ID', 'TZ'])",
    "the name is reserved by the Lambda runtime environment (AWS_*, LAMBDA_*, FNOP_*, _HANDLER, _X_AMZN_TRACE_ID, TZ)", FieldPath = ".name", Reason = "FieldValueForbidden")]
public sealed class EnvironmentVariable
{
    [JsonPropertyName("name")]
    [Required]
    [MaxLength(128)]
    [RegularExpression("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    [Description("Variable name. Names reserved by Lambda (AWS_*, LAMBDA_*, FNOP_*, _HANDLER, _X_AMZN_TRACE_ID, TZ) are rejected.")]
    public string Name { get; set; } = "";

    [JsonPropertyName("value")]
    [MaxLength(4096)]
    [Description("Literal value (at most 4096 characters; Lambda limits all variables together to 4 KB).")]
    public string? Value { get; set; }

    [JsonPropertyName("secretKeyRef")]
    [Description("Take the value from a key of a Secret in the function's namespace.")]
    public KeyReference? SecretKeyRef { get; set; }

    [JsonPropertyName("configMapKeyRef")]
    [Description("Take the value from a key of a ConfigMap in the function's namespace.")]
    public KeyReference? ConfigMapKeyRef { get; set; }
}

[Description("A key of a Secret or ConfigMap.")]
public sealed class KeyReference
{
    [JsonPropertyName("name")]
    [Required]
    [MinLength(1)]
    [MaxLength(253)]
    [Description("Object name.")]
    public string Name { get; set; } = "";

    [JsonPropertyName("key")]
    [Required]
    [MinLength(1)]
    [MaxLength(253)]
    [Description("Key within the object.")]
    public string Key { get; set; } = "";
}

[Description("Observed state of a Function.")]
public sealed class FunctionStatus : IConditionedStatus
{
    [JsonPropertyName("conditions")]
    [Description("Ready, CodeReady and Available conditions with reasons.")]
    public List<V1Condition>? Conditions { get; set; }

    [JsonPropertyName("observedGeneration")]
    [Description("The metadata.generation this status describes.")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("latestVersion")]
    [Description("Highest published version number, or $LATEST.")]
    public string? LatestVersion { get; set; }

    [JsonPropertyName("replicas")]
    [Description("Pods of $LATEST.")]
    public int? Replicas { get; set; }

    [JsonPropertyName("readyReplicas")]
    [Description("Ready pods of $LATEST.")]
    public int? ReadyReplicas { get; set; }

    [JsonPropertyName("codeSha256")]
    [Description("SHA-256 of the code that $LATEST runs.")]
    public string? CodeSha256 { get; set; }

    [JsonPropertyName("invokeUrl")]
    [Description("Gateway URL that invokes this function.")]
    public string? InvokeUrl { get; set; }

    [JsonPropertyName("versions")]
    [Description("Published versions that still exist, oldest first.")]
    public List<FunctionVersionStatus>? Versions { get; set; }

    [JsonPropertyName("publishRequest")]
    [Description("The last publish request (annotation fnoperator.io/publish-request) the operator handled.")]
    public string? PublishRequest { get; set; }

    [JsonPropertyName("publishedVersion")]
    [Description("The version the last handled publish request resolved to (new, or the last version when nothing changed).")]
    public string? PublishedVersion { get; set; }

    [JsonPropertyName("functionUrl")]
    [Description("The Function URL (spec.url) where the function answers HTTP requests.")]
    public string? FunctionUrl { get; set; }
}
