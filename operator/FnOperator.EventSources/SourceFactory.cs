using FnOperator.Api;
using FnOperator.EventSources.Sources;

namespace FnOperator.EventSources;

/// <summary>Builds a mapping's source from its spec (operator and local mode alike).</summary>
public static class SourceFactory
{
    /// <summary>
    /// The NATS queue consumer's ack wait: how long a message stays invisible once its poller stops sending in-progress
    /// acks (a poller that died, a lost connection). While a batch runs the poller keeps its messages invisible.
    /// </summary>
    public static readonly TimeSpan VisibilityTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The source's consumer / group / checkpoint name of a mapping: <c>fnop-esm-{namespace}-{name}</c>.</summary>
    public static string ConsumerName(EventSourceMapping mapping) =>
        $"fnop-esm-{mapping.Metadata.NamespaceProperty ?? "default"}-{mapping.Metadata.Name}";

    /// <returns>Null for a schedule source (no records to poll).</returns>
    /// <exception cref="SourceException">The source type is not implemented.</exception>
    public static Func<IRecordSource>? For(EventSourceMapping mapping, SourceCredentials credentials, TimeProvider time)
    {
        var ns = mapping.Metadata.NamespaceProperty ?? "default";
        var consumer = ConsumerName(mapping);
        if (mapping.Spec.Source.Queue is { } q)
        {
            var counter = new DeliveryCounter(); // outlives reconnects of this poller
            var prefetch = (int)Math.Min(RabbitMqQueueSource.MaxPrefetch, (long)mapping.Spec.BatchSize * (mapping.Spec.ScalingConfig?.MaximumConcurrency ?? PollerSettings.DefaultMaximumConcurrency));
            return q.Type switch
            {
                "rabbitmq" => () => new RabbitMqQueueSource(q.Url, q.QueueName ?? "", consumer, ns, credentials, prefetch, counter),
                "nats" => () => new NatsQueueSource(q.Url, q.Subject ?? "", consumer, ns, credentials, VisibilityTimeout),
                "redis" => () => new RedisListSource(q.Url, q.QueueName ?? "", consumer, ns, credentials, time),
                _ => throw new SourceException(SourceFailure.Invalid, $"queue type {q.Type} is not supported"),
            };
        }

        if (mapping.Spec.Source.Stream is { } s)
        {
            var start = new StartingPosition(s.StartingPosition, s.StartingPositionTimestamp is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null);
            return s.Type switch
            {
                "nats" => () => new NatsStreamSource(s.Url, s.StreamName, consumer, ns, credentials, start),
                "redis" => () => new RedisStreamSource(s.Url, s.StreamName, consumer, ns, credentials, start, time),
                _ => throw new SourceException(SourceFailure.Invalid, $"stream type {s.Type} is not supported"),
            };
        }

        return null;
    }

    /// <summary>The Secret named by the source's credentialsSecretRef, if any.</summary>
    public static string? CredentialsSecret(EventSourceMapping mapping) =>
        mapping.Spec.Source.Queue?.CredentialsSecretRef?.Name ?? mapping.Spec.Source.Stream?.CredentialsSecretRef?.Name;

    /// <summary>Credentials from a Secret's data (keys username, password, token).</summary>
    public static SourceCredentials Credentials(IDictionary<string, byte[]>? data)
    {
        string? Get(string key) => data is not null && data.TryGetValue(key, out var v) ? System.Text.Encoding.UTF8.GetString(v) : null;
        return new SourceCredentials(Get("username"), Get("password"), Get("token"));
    }
}
