namespace FnOperator.EventSources;

/// <summary>
/// A queue or stream a poller reads. Queues: <see cref="AckAsync"/> deletes messages, <see cref="ReleaseAsync"/> makes
/// them visible again (redelivery, counted in <see cref="SourceRecord.DeliveryCount"/>). Streams: records come in order
/// from the checkpoint; <see cref="AckAsync"/> moves the checkpoint past the given records (kept in the source, so it
/// survives a poller restart and a leader failover); <see cref="ReleaseAsync"/> is not used.
/// </summary>
public interface IRecordSource : IAsyncDisposable
{
    SourceIdentity Identity { get; }

    /// <exception cref="SourceException">The server cannot be reached or refused the credentials.</exception>
    Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="max"/> records, waiting at most <paramref name="wait"/> for the first; empty when none came.</summary>
    Task<IReadOnlyList<SourceRecord>> ReceiveAsync(int max, TimeSpan wait, CancellationToken cancellationToken);

    Task AckAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken);

    Task ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="payload"/> to the queue <paramref name="queue"/> on the same server (a failure destination).</summary>
    Task PublishAsync(string queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);
}

/// <summary>A queue whose broker dead-letters on its own: <see cref="RejectAsync"/> removes messages without a requeue (RabbitMQ nack, requeue=false).</summary>
public interface IRejectingSource
{
    Task RejectAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken);
}

public enum SourceFailure
{
    Unreachable,
    AuthFailed,
    Invalid,
}

/// <summary>A source could not be used; <see cref="Failure"/> names the condition reason.</summary>
public sealed class SourceException(SourceFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public SourceFailure Failure { get; } = failure;
}

/// <summary>Credentials from the mapping's credentialsSecretRef (keys username, password, token).</summary>
public sealed record SourceCredentials(string? Username, string? Password, string? Token)
{
    public static SourceCredentials None { get; } = new(null, null, null);
}
