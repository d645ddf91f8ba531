using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace FnOperator.Api;

/// <summary>A Lambda-style function: code, runtime and configuration, run as pods with a runtime-shim.</summary>
[Description("A Lambda-style function: its code, runtime and configuration. The operator runs it as a Deployment whose pods carry a runtime-shim serving the Lambda Runtime API.")]
public sealed class Function : IKubernetesObject<V1ObjectMeta>, ISpec<FunctionSpec>, IStatus<FunctionStatus?>
{
    public const string KindName = "Function";
    public const string Plural = "functions";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public FunctionSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public FunctionStatus? Status { get; set; }
}

[Description("Desired state of a Function.")]
public sealed class FunctionSpec
{
    [JsonPropertyName("runtime")]
    [Description("Managed runtime identifier, as in AWS Lambda: nodejs20.x, nodejs22.x, python3.11, python3.12, python3.13, dotnet8, java21, provided.al2023, provided.al2. Required unless code.image is set.")]
    public string? Runtime { get; set; }

    [JsonPropertyName("handler")]
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
    [Description("Memory in MiB (128-10240): the container memory limit and AWS_LAMBDA_FUNCTION_MEMORY_SIZE. CPU is allotted in proportion (1769 MiB = 1 vCPU).")]
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
    [Description("Environment variables for the function: literal values or references to Secret / ConfigMap keys.")]
    public List<EnvironmentVariable>? Environment { get; set; }

    [JsonPropertyName("serviceAccountName")]
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
}

[Description("Source of a function's or layer's code. Exactly one of image, url, configMap, path.")]
public sealed class FunctionCode
{
    [JsonPropertyName("image")]
    [Description("A container image holding the runtime and the code (Lambda container image style). When set, runtime is optional.")]
    public string? Image { get; set; }

    [JsonPropertyName("url")]
    [Description("HTTP(S) URL of a .zip archive of the code, extracted into /var/task. Requires sha256.")]
    public string? Url { get; set; }

    [JsonPropertyName("sha256")]
    [RegularExpression("^[a-f0-9]{64}$")]
    [Description("Lowercase hex SHA-256 of the archive at url; the download is rejected when it does not match.")]
    public string? Sha256 { get; set; }

    [JsonPropertyName("configMap")]
    [Description("A ConfigMap in the function's namespace whose keys are file names under /var/task (small inline functions).")]
    public ConfigMapCodeSource? ConfigMap { get; set; }

    [JsonPropertyName("path")]
    [Description("Local mode only: a directory with the code, relative to the manifest file.")]
    public string? Path { get; set; }
}

[Description("Code held in a ConfigMap.")]
public sealed class ConfigMapCodeSource
{
    [JsonPropertyName("name")]
    [Required]
    [Description("Name of the ConfigMap in the function's namespace.")]
    public string Name { get; set; } = "";
}

[Description("A reference to a Layer version.")]
public sealed class LayerReference
{
    [JsonPropertyName("name")]
    [Required]
    [Description("Name of the Layer in the function's namespace.")]
    public string Name { get; set; } = "";

    [JsonPropertyName("version")]
    [Range(1, int.MaxValue)]
    [Description("Layer version number; the latest version when omitted.")]
    public int? Version { get; set; }
}

[Description("An environment variable: a literal value or a reference to a Secret or ConfigMap key.")]
public sealed class EnvironmentVariable
{
    [JsonPropertyName("name")]
    [Required]
    [RegularExpression("^[a-zA-Z][a-zA-Z0-9_]*$")]
    [Description("Variable name. Names reserved by Lambda (AWS_*, _HANDLER, LAMBDA_*) are rejected.")]
    public string Name { get; set; } = "";

    [JsonPropertyName("value")]
    [Description("Literal value.")]
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
    [Description("Object name.")]
    public string Name { get; set; } = "";

    [JsonPropertyName("key")]
    [Required]
    [Description("Key within the object.")]
    public string Key { get; set; } = "";
}

[Description("Concurrency controls, as Lambda's reserved and provisioned concurrency.")]
public sealed class ConcurrencySpec
{
    [JsonPropertyName("reserved")]
    [Range(0, 10000)]
    [Description("Maximum concurrent invocations of this function; further sync requests get 429 TooManyRequestsException. 0 throttles everything. Unlimited when omitted.")]
    public int? Reserved { get; set; }

    [JsonPropertyName("provisioned")]
    [Range(0, 1000)]
    [Description("Instances kept warm at all times (the autoscaler's minimum; 0 allows scale to zero).")]
    public int? Provisioned { get; set; }

    [JsonPropertyName("perInstance")]
    [Range(1, 1000)]
    [DefaultValue(1)]
    [Description("Invocations one pod runs at once. Lambda's model is 1.")]
    public int PerInstance { get; set; } = 1;
}

[Description("Autoscaling controls.")]
public sealed class ScalingSpec
{
    [JsonPropertyName("maxReplicas")]
    [Range(1, 1000)]
    [DefaultValue(10)]
    [Description("Upper bound on pods.")]
    public int MaxReplicas { get; set; } = 10;

    [JsonPropertyName("scaleToZeroAfterSeconds")]
    [Range(0, 86400)]
    [DefaultValue(300)]
    [Description("Idle time after which the function scales to zero (unless concurrency.provisioned > 0). 0 disables scale to zero.")]
    public int ScaleToZeroAfterSeconds { get; set; } = 300;

    [JsonPropertyName("targetQueueDepth")]
    [Range(1, 1000)]
    [DefaultValue(1)]
    [Description("Queued plus in-flight invocations per pod that the autoscaler aims for.")]
    public int TargetQueueDepth { get; set; } = 1;
}

[Description("Asynchronous invocation configuration (Lambda's EventInvokeConfig).")]
public sealed class AsyncSpec
{
    [JsonPropertyName("maximumRetryAttempts")]
    [Range(0, 2)]
    [DefaultValue(2)]
    [Description("Retries after a function error or timeout (0-2).")]
    public int MaximumRetryAttempts { get; set; } = 2;

    [JsonPropertyName("maximumEventAgeSeconds")]
    [Range(60, 21600)]
    [DefaultValue(21600)]
    [Description("Maximum age of a queued event in seconds (60-21600); older events are discarded to the failure destination.")]
    public int MaximumEventAgeSeconds { get; set; } = 21600;

    [JsonPropertyName("destinations")]
    [Description("Where records of completed asynchronous invocations go.")]
    public DestinationConfig? Destinations { get; set; }
}

[Description("OnSuccess and OnFailure destinations.")]
public sealed class DestinationConfig
{
    [JsonPropertyName("onSuccess")]
    [Description("Receives a record of each successful asynchronous invocation.")]
    public Destination? OnSuccess { get; set; }

    [JsonPropertyName("onFailure")]
    [Description("Receives a record of each asynchronous invocation that failed all attempts or expired.")]
    public Destination? OnFailure { get; set; }
}

[Description("An invocation record destination: another function or a named queue. Exactly one of function, queue.")]
public sealed class Destination
{
    [JsonPropertyName("function")]
    [Description("Name (or namespace/name) of a Function invoked asynchronously with the record.")]
    public string? Function { get; set; }

    [JsonPropertyName("queue")]
    [Description("Name of a destination queue (a JetStream subject in a cluster, an in-memory queue readable from the gateway in local mode).")]
    public string? Queue { get; set; }
}

[Description("Observed state of a Function.")]
public sealed class FunctionStatus
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
}
