namespace FnOperator.EventSources;

/// <summary>
/// One message or stream record as a source delivered it. <see cref="Id"/> is what Lambda calls the item identifier:
/// the messageId of a queue message, the sequenceNumber of a stream record. <see cref="Handle"/> is the source's own
/// acknowledgement handle (opaque to the poller).
/// </summary>
public sealed record SourceRecord
{
    public required string Id { get; init; }

    public required ReadOnlyMemory<byte> Body { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Stream records: the partition key (ordering unit); queues: the message group or null.</summary>
    public string? PartitionKey { get; init; }

    /// <summary>Stream records: the position in the stream (monotonic); queues: 0.</summary>
    public ulong Sequence { get; init; }

    /// <summary>How many times the source delivered this message (1 the first time).</summary>
    public int DeliveryCount { get; init; } = 1;

    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();

    /// <summary>RabbitMQ: Lambda's <c>basicProperties</c> of the message (content type, headers, delivery mode, …).</summary>
    public System.Text.Json.Nodes.JsonObject? Properties { get; init; }

    /// <summary>RabbitMQ: the broker's redelivered flag.</summary>
    public bool Redelivered { get; init; }

    public object? Handle { get; init; }
}

/// <summary>Names a source in events: Lambda's <c>eventSource</c>, <c>eventSourceARN</c> and the shard id.</summary>
/// <param name="Kind">queue or stream.</param>
/// <param name="Technology">nats, redis, rabbitmq.</param>
/// <param name="Name">The subject, queue name or stream name.</param>
public sealed record SourceIdentity(SourceKind Kind, string Technology, string Name, string Namespace, string Region = EventShapes.Region)
{
    public const string RabbitMq = "rabbitmq";

    /// <summary>RabbitMQ: the virtual host of the queue (the <c>queue::vhost</c> key of <c>rmqMessagesByQueue</c>).</summary>
    public string? VirtualHost { get; init; }

    /// <summary>Batches in Lambda's Amazon MQ for RabbitMQ shape (<c>aws:rmq</c>) instead of SQS records.</summary>
    public bool IsRabbitMq => Technology == RabbitMq;

    /// <summary>
    /// The ARN-like name in <c>eventSourceARN</c>: <c>arn:fnoperator:{technology}:{region}:{namespace}:{queue|stream}/{name}</c>,
    /// e.g. <c>arn:fnoperator:nats:local:default:queue/orders</c>. Handlers that split ARNs on ':' find the name last.
    /// </summary>
    public string Arn => $"arn:fnoperator:{Technology}:{Region}:{Namespace}:{(Kind == SourceKind.Queue ? "queue" : "stream")}/{Name}";

    /// <summary>Lambda's <c>eventSource</c>: <c>aws:sqs</c> for queues, <c>aws:rmq</c> for RabbitMQ queues and <c>aws:kinesis</c> for streams, so handlers written for Lambda run unmodified.</summary>
    public string EventSource => IsRabbitMq ? "aws:rmq" : Kind == SourceKind.Queue ? "aws:sqs" : "aws:kinesis";
}

public enum SourceKind
{
    Queue,
    Stream,
}
