using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using FnOperator.Api.Schema;

namespace FnOperator.Api;

[Description("Concurrency controls, as Lambda's reserved and provisioned concurrency.")]
[CelRule("!has(self.reserved) || !has(self.provisioned) || self.provisioned <= self.reserved",
    "provisioned must not exceed reserved", FieldPath = ".provisioned")]
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
    [Range(1, 64)]
    [DefaultValue(1)]
    [Description("Invocations one pod runs at once. Lambda's model is 1; above 1 only for nodejs runtimes (docs/concurrency.md).")]
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

    [JsonPropertyName("keepAlive")]
    [AllowedValues("fixed", "adaptive")]
    [DefaultValue("fixed")]
    [Description("How long idle pods are kept: fixed (scaleToZeroAfterSeconds) or adaptive (learned from the function's idle times: kept warm for their tail, pre-warmed before the expected next call; scaleToZeroAfterSeconds until enough idle times are seen). docs/autoscaler.md.")]
    public string KeepAlive { get; set; } = "fixed";
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
[CelRule("(has(self.function) ? 1 : 0) + (has(self.queue) ? 1 : 0) == 1", "exactly one of function or queue must be set")]
public sealed class Destination
{
    [JsonPropertyName("function")]
    [MinLength(1)]
    [MaxLength(512)]
    [Description("Name (or namespace/name) of a Function invoked asynchronously with the record.")]
    public string? Function { get; set; }

    [JsonPropertyName("queue")]
    [MinLength(1)]
    [MaxLength(253)]
    [Description("Name of a destination queue (a JetStream subject in a cluster, an in-memory queue readable from the gateway in local mode).")]
    public string? Queue { get; set; }
}
