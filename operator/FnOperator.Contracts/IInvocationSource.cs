namespace FnOperator.Contracts;

/// <summary>
/// The seam between a runtime-shim and the queue that feeds it. One source serves one function version.
/// Implementations: the gateway's in-process queue (reached over HTTP by the shim in local mode, see
/// <see cref="PullProtocol"/>), and a NATS JetStream consumer in a cluster.
/// Delivery is at-least-once: an invocation handed out by <see cref="NextAsync"/> and neither completed nor released
/// is delivered again after the source's ack deadline.
/// </summary>
public interface IInvocationSource
{
    /// <summary>Waits for the next invocation. Returns null when the source has been closed and no more work will come.</summary>
    ValueTask<Invocation?> NextAsync(CancellationToken cancellationToken);

    /// <summary>Hands the result back and acknowledges the invocation.</summary>
    ValueTask CompleteAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken);

    /// <summary>Gives an invocation back unprocessed (for example when shutting down before it started) so it is redelivered.</summary>
    ValueTask ReleaseAsync(Invocation invocation, CancellationToken cancellationToken);
}
