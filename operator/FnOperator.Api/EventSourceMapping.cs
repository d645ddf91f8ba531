using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using FnOperator.Api.Schema;
using k8s.Models;

namespace FnOperator.Api;

/// <summary>A Lambda-style event source mapping: a poller that reads a queue, stream or schedule and invokes a function with batches.</summary>
[Description("A Lambda-style event source mapping: the operator reads records from a queue or stream, or fires on a schedule, and invokes the function synchronously with each batch.")]
[CustomResource(KindName, Plural, "esm")]
[PrinterColumn(1, "Function", "string", ".spec.functionName", "The function invoked with each batch.")]
[PrinterColumn(2, "Enabled", "boolean", ".spec.enabled", "Whether the mapping is polling.")]
[PrinterColumn(3, "Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Whether the poller is connected and running.")]
[PrinterColumn(4, "Last Result", "string", ".status.lastProcessingResult", "Outcome of the last batch.", Priority = 1)]
[PrinterColumn(5, "Age", "date", ".metadata.creationTimestamp", "Time since the mapping was created.")]
public sealed class EventSourceMapping() : CustomResource<EventSourceMappingSpec, EventSourceMappingStatus>(KindName)
{
    public const string KindName = "EventSourceMapping";
    public const string Plural = "eventsourcemappings";
}

[Description("Desired state of an EventSourceMapping.")]
[CelRule("!has(self.source.schedule) || (!has(self.filterCriteria) && !has(self.bisectBatchOnFunctionError))",
    "filterCriteria and bisectBatchOnFunctionError do not apply to a schedule source", FieldPath = ".source.schedule", Reason = "FieldValueForbidden")]
[CelRule("!has(self.bisectBatchOnFunctionError) || !self.bisectBatchOnFunctionError || has(self.source.stream)",
    "bisectBatchOnFunctionError applies only to a stream source", FieldPath = ".bisectBatchOnFunctionError", Reason = "FieldValueForbidden")]
[CelRule("!has(self.parallelizationFactor) || self.parallelizationFactor == 1 || has(self.source.stream)",
    "parallelizationFactor applies only to a stream source", FieldPath = ".parallelizationFactor", Reason = "FieldValueForbidden")]
[CelRule("!has(self.maximumRecordAgeInSeconds) || self.maximumRecordAgeInSeconds == -1 || self.maximumRecordAgeInSeconds >= 60",
    "maximumRecordAgeInSeconds is -1 or 60-604800", FieldPath = ".maximumRecordAgeInSeconds")]
[CelRule("self.batchSize <= 10 || self.maximumBatchingWindowInSeconds > 0",
    "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10", FieldPath = ".maximumBatchingWindowInSeconds")]
public sealed class EventSourceMappingSpec
{
    public const string ReportBatchItemFailures = "ReportBatchItemFailures";

    [JsonPropertyName("functionName")]
    [Required]
    [MinLength(1)]
    [MaxLength(300)]
    [RegularExpression("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:([1-9][0-9]*|\\$LATEST|[a-zA-Z0-9_-]+))?$")]
    [Description("The Function to invoke, in the mapping's namespace: name, name:version or name:alias.")]
    public string FunctionName { get; set; } = "";

    [JsonPropertyName("source")]
    [Required]
    [Description("Where events come from. Exactly one of queue, stream or schedule.")]
    public EventSource Source { get; set; } = new();

    [JsonPropertyName("enabled")]
    [DefaultValue(true)]
    [Description("Whether the mapping polls; false pauses it without losing its position.")]
    public bool Enabled { get; set; } = true;

    [JsonPropertyName("batchSize")]
    [Range(1, 10000)]
    [DefaultValue(10)]
    [Description("Maximum records per invocation (1-10000). A schedule source always sends one event.")]
    public int BatchSize { get; set; } = 10;

    [JsonPropertyName("maximumBatchingWindowInSeconds")]
    [Range(0, 300)]
    [DefaultValue(0)]
    [Description("How long to gather records before invoking with a batch smaller than batchSize (0-300 seconds).")]
    public int MaximumBatchingWindowInSeconds { get; set; }

    [JsonPropertyName("filterCriteria")]
    [Description("Only records matching at least one filter invoke the function; the others are dropped (Lambda event filtering).")]
    public FilterCriteria? FilterCriteria { get; set; }

    [JsonPropertyName("maximumRetryAttempts")]
    [Range(-1, 10000)]
    [DefaultValue(-1)]
    [Description("Retries of a failed batch before it is discarded to destinationConfig.onFailure (-1 = until the record expires or succeeds).")]
    public int MaximumRetryAttempts { get; set; } = -1;

    [JsonPropertyName("bisectBatchOnFunctionError")]
    [Description("Stream sources only: on a function error, split the batch in two and retry each half.")]
    public bool? BisectBatchOnFunctionError { get; set; }

    [JsonPropertyName("functionResponseTypes")]
    [MaxLength(1)]
    [AllowedValues(ReportBatchItemFailures)]
    [Description("[\"ReportBatchItemFailures\"]: the function returns {\"batchItemFailures\":[{\"itemIdentifier\":id}]} and only those records are retried (messageId for queues, sequenceNumber for streams).")]
    public List<string>? FunctionResponseTypes { get; set; }

    [JsonPropertyName("maximumRecordAgeInSeconds")]
    [Range(-1, 604800)]
    [DefaultValue(-1)]
    [Description("Stream sources: records older than this (60-604800 seconds; -1 = never) are discarded to destinationConfig.onFailure instead of invoked.")]
    public int MaximumRecordAgeInSeconds { get; set; } = -1;

    [JsonPropertyName("parallelizationFactor")]
    [Range(1, 10)]
    [Description("Stream sources: how many batches of one stream are processed at once (1-10, default 1). Records are spread over the batches by partition key, so each key's records stay in order.")]
    public int? ParallelizationFactor { get; set; }

    [JsonPropertyName("scalingConfig")]
    [Description("Queue sources: how many batches are processed at once.")]
    public EventSourceScalingConfig? ScalingConfig { get; set; }

    [JsonPropertyName("destinationConfig")]
    [Description("Where records of discarded batches go: queue sources send the original message (a dead-letter), stream sources Lambda's failure record (KinesisBatchInfo). A destination queue is a subject / list on the source's server; a function is invoked asynchronously.")]
    public EventSourceDestinationConfig? DestinationConfig { get; set; }
}

[Description("Event source of a mapping. Exactly one of queue, stream, schedule.")]
[CelRule("(has(self.queue) ? 1 : 0) + (has(self.stream) ? 1 : 0) + (has(self.schedule) ? 1 : 0) == 1",
    "exactly one of queue, stream or schedule must be set")]
public sealed class EventSource
{
    [JsonPropertyName("queue")]
    [Description("A message queue: each message is delivered to one invocation and acknowledged when the batch succeeds.")]
    public QueueSource? Queue { get; set; }

    [JsonPropertyName("stream")]
    [Description("An ordered stream read from a starting position; a failed batch blocks its shard until it succeeds, expires or is discarded.")]
    public StreamSource? Stream { get; set; }

    [JsonPropertyName("schedule")]
    [Description("A timer that invokes the function with a fixed input (EventBridge Scheduler style).")]
    public ScheduleSource? Schedule { get; set; }
}

[Description("A message queue source.")]
[CelRule("self.type != 'nats' || has(self.subject)", "a nats queue needs subject", FieldPath = ".subject", Reason = "FieldValueRequired")]
[CelRule("self.type == 'nats' || has(self.queueName)", "redis and rabbitmq queues need queueName", FieldPath = ".queueName", Reason = "FieldValueRequired")]
public sealed class QueueSource
{
    [JsonPropertyName("type")]
    [Required]
    [AllowedValues("nats", "redis", "rabbitmq")]
    [Description("Queue technology: nats (a JetStream work-queue consumer), redis (a list) or rabbitmq (an AMQP 0-9-1 queue; events in Lambda's Amazon MQ for RabbitMQ shape). sqs-like (an SQS-compatible HTTP API) is not implemented and is rejected.")]
    public string Type { get; set; } = "";

    [JsonPropertyName("url")]
    [Required]
    [MinLength(1)]
    [MaxLength(2048)]
    [Description("Server URL, e.g. nats://nats:4222, redis://redis:6379 or amqp://rabbitmq:5672/vhost (no path: vhost /).")]
    public string Url { get; set; } = "";

    [JsonPropertyName("subject")]
    [MaxLength(256)]
    [Description("nats: the subject whose messages are consumed (through a durable JetStream consumer).")]
    public string? Subject { get; set; }

    [JsonPropertyName("queueName")]
    [MaxLength(256)]
    [Description("redis: the list key of the queue; rabbitmq: the name of an existing queue.")]
    public string? QueueName { get; set; }

    [JsonPropertyName("credentialsSecretRef")]
    [Description("Optional Secret in the mapping's namespace with the keys username, password or token used to connect.")]
    public SecretReference? CredentialsSecretRef { get; set; }
}

[Description("An ordered stream source.")]
[CelRule("(self.startingPosition == 'AT_TIMESTAMP') == has(self.startingPositionTimestamp)",
    "startingPositionTimestamp is required with AT_TIMESTAMP and allowed only with it", FieldPath = ".startingPositionTimestamp")]
public sealed class StreamSource
{
    [JsonPropertyName("type")]
    [Required]
    [AllowedValues("nats", "redis")]
    [Description("Stream technology: nats (a JetStream stream) or redis (a Redis stream read by a consumer group).")]
    public string Type { get; set; } = "";

    [JsonPropertyName("url")]
    [Required]
    [MinLength(1)]
    [MaxLength(2048)]
    [Description("Server URL, e.g. nats://nats:4222 or redis://redis:6379.")]
    public string Url { get; set; } = "";

    [JsonPropertyName("streamName")]
    [Required]
    [MinLength(1)]
    [MaxLength(256)]
    [Description("Name of the JetStream stream or the Redis stream key.")]
    public string StreamName { get; set; } = "";

    [JsonPropertyName("startingPosition")]
    [Required]
    [AllowedValues("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")]
    [Description("Where a new mapping starts reading: TRIM_HORIZON (oldest record), LATEST (only new records) or AT_TIMESTAMP (startingPositionTimestamp).")]
    public string StartingPosition { get; set; } = "";

    [JsonPropertyName("startingPositionTimestamp")]
    [Format("date-time")]
    [Description("With AT_TIMESTAMP: the time (RFC 3339) from which to read.")]
    public DateTime? StartingPositionTimestamp { get; set; }

    [JsonPropertyName("credentialsSecretRef")]
    [Description("Optional Secret in the mapping's namespace with the keys username, password or token used to connect.")]
    public SecretReference? CredentialsSecretRef { get; set; }
}

[Description("A schedule source.")]
public sealed class ScheduleSource
{
    [JsonPropertyName("expression")]
    [Required]
    [MaxLength(256)]
    [RegularExpression("^(rate\\(([1-9][0-9]* (minute|minutes|hour|hours|day|days))\\)|cron\\(\\S+( \\S+){5}\\))$")]
    [Description("rate(value unit), e.g. rate(5 minutes), rate(1 hour); or cron(minutes hours day-of-month month day-of-week year) in EventBridge syntax, e.g. cron(0 12 * * ? *). Evaluated in UTC unless timezone is set.")]
    public string Expression { get; set; } = "";

    [JsonPropertyName("timezone")]
    [MaxLength(64)]
    [Description("IANA time zone for cron expressions, e.g. Europe/Berlin. UTC when omitted.")]
    public string? Timezone { get; set; }

    [JsonPropertyName("input")]
    [PreserveUnknownFields]
    [Description("The JSON event passed to the function on each firing; an EventBridge Scheduled Event shape when omitted.")]
    public System.Text.Json.Nodes.JsonNode? Input { get; set; }
}

[Description("A reference to a Secret in the same namespace.")]
public sealed class SecretReference
{
    [JsonPropertyName("name")]
    [Required]
    [MinLength(1)]
    [MaxLength(253)]
    [Description("Name of the Secret.")]
    public string Name { get; set; } = "";
}

[Description("Event filtering, as Lambda's FilterCriteria.")]
public sealed class FilterCriteria
{
    [JsonPropertyName("filters")]
    [MaxLength(5)]
    [Description("Up to 5 filters; a record passes when it matches any of them.")]
    public List<EventFilter>? Filters { get; set; }
}

[Description("One event filter.")]
public sealed class EventFilter
{
    [JsonPropertyName("pattern")]
    [Required]
    [MinLength(2)]
    [MaxLength(4096)]
    [Description("A Lambda/EventBridge filter pattern as a JSON string, e.g. {\"body\": {\"kind\": [\"order\"]}}.")]
    public string Pattern { get; set; } = "";
}

[Description("Queue scaling of a mapping, as Lambda's ScalingConfig.")]
public sealed class EventSourceScalingConfig
{
    [JsonPropertyName("maximumConcurrency")]
    [Range(2, 1000)]
    [Description("Most batches in flight at once (2-1000, default 2).")]
    public int? MaximumConcurrency { get; set; }
}

[Description("Destinations of an event source mapping.")]
public sealed class EventSourceDestinationConfig
{
    [JsonPropertyName("onFailure")]
    [Description("Receives a record of each batch discarded after its retries or age ran out.")]
    public Destination? OnFailure { get; set; }
}

[Description("Observed state of an EventSourceMapping.")]
public sealed class EventSourceMappingStatus : IConditionedStatus
{
    [JsonPropertyName("conditions")]
    [Description("The Ready condition: whether the poller is connected to the source and running.")]
    public List<V1Condition>? Conditions { get; set; }

    [JsonPropertyName("observedGeneration")]
    [Description("The metadata.generation this status describes.")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("state")]
    [AllowedValues("Creating", "Enabling", "Enabled", "Disabling", "Disabled", "Updating", "Deleting")]
    [Description("Lifecycle state, as Lambda's EventSourceMapping State.")]
    public string? State { get; set; }

    [JsonPropertyName("lastProcessingResult")]
    [Description("Outcome of the last batch: \"OK\", \"No records processed\" or \"PROBLEM: <message>\", as Lambda reports.")]
    public string? LastProcessingResult { get; set; }

    [JsonPropertyName("lastProcessedAt")]
    [Format("date-time")]
    [Description("When the last batch finished (RFC 3339).")]
    public DateTime? LastProcessedAt { get; set; }
}
