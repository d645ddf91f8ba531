namespace FnOperator.Gateway.Async;

/// <summary>
/// Named destination queues: OnSuccess/OnFailure "queue" destinations and the per-function dead-letter queue
/// <c>{namespace}.{name}.dlq</c>. In memory per replica (<see cref="DestinationQueues"/>) or durable and shared on
/// JetStream (<see cref="Queue.JetStream.JetStreamDestinations"/>). See docs/gateway.md, "Destinations".
/// </summary>
public interface IDestinationQueues
{
    /// <summary>
    /// Stores a record; returns once it is stored (on JetStream: acknowledged). A second publish with the same
    /// <paramref name="messageId"/> (a completion posted twice) stores nothing more and is success.
    /// </summary>
    ValueTask PublishAsync(string name, string messageId, byte[] message, CancellationToken cancellationToken);

    /// <summary>Removes and returns up to <paramref name="max"/> records, oldest first; a record is returned once, by one replica.</summary>
    ValueTask<IReadOnlyList<byte[]>> ReceiveAsync(string name, int max, CancellationToken cancellationToken);

    /// <summary>Queue names with their depths, ordered by name.</summary>
    ValueTask<IReadOnlyDictionary<string, long>> DepthsAsync(CancellationToken cancellationToken);
}
