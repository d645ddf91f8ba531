using FnOperator.Contracts;
using FnOperator.Gateway.Async;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Metrics;

namespace FnOperator.Gateway.Queue;

/// <summary>
/// Handles a worker's result: for Event invocations the async follow-up (retry or destination record) is enqueued
/// first, then the invocation is acknowledged, so an accepted event is never lost between the two.
/// </summary>
public sealed class InvocationCompletion(IInvocationQueue queue, AsyncInvocationProcessor asyncProcessor, GatewayMetrics metrics)
{
    /// <summary>
    /// The invocation completed, or null when the lease is not in flight (already completed, released, expired, or an
    /// older lease's token).
    /// </summary>
    public async Task<Invocation?> CompleteAsync(string requestId, string leaseToken, InvocationResult result, CancellationToken cancellationToken)
    {
        var invocation = await queue.GetInFlightAsync(requestId, leaseToken, cancellationToken).ConfigureAwait(false);
        if (invocation is null)
        {
            return null;
        }

        if (invocation.Type == InvocationType.Event)
        {
            await asyncProcessor.OnAttemptCompletedAsync(invocation, result, cancellationToken).ConfigureAwait(false);
        }

        // Metrics first: an in-process caller is answered on this thread as the lease is acknowledged.
        var key = new FunctionKey(invocation.Namespace, invocation.FunctionName);
        var completed = await queue.CompleteAsync(requestId, leaseToken, result, () => metrics.Completed(key, result), cancellationToken).ConfigureAwait(false);
        return completed ? invocation : null;
    }

    /// <summary>
    /// Sends the EventAgeExceeded record of an Event invocation that exceeded its maximum age without running, and
    /// acknowledges it when it is leased (it carries a lease token; one taken out of the queue has none).
    /// </summary>
    public async Task ExpireAsync(Invocation invocation, CancellationToken cancellationToken)
    {
        await asyncProcessor.ExpireAsync(invocation, cancellationToken).ConfigureAwait(false);
        var result = new InvocationResult
        {
            RequestId = invocation.RequestId,
            Outcome = InvocationOutcome.FunctionError,
            Payload = [],
            ErrorType = DestinationRecord.EventAgeExceeded,
            ExecutedVersion = invocation.Version,
        };
        if (invocation.LeaseToken is { } lease)
        {
            await queue.CompleteAsync(invocation.RequestId, lease, result, cancellationToken).ConfigureAwait(false);
        }
    }
}
