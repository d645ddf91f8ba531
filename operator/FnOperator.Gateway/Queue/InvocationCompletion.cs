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
    /// <summary>False when the request id is not in flight (already completed, released or expired).</summary>
    public async Task<bool> CompleteAsync(string requestId, InvocationResult result, CancellationToken cancellationToken)
    {
        var invocation = queue.GetInFlight(requestId);
        if (invocation is null)
        {
            return false;
        }

        if (invocation.Type == InvocationType.Event)
        {
            await asyncProcessor.OnAttemptCompletedAsync(invocation, result, cancellationToken).ConfigureAwait(false);
        }

        var completed = await queue.CompleteAsync(requestId, result, cancellationToken).ConfigureAwait(false);
        if (completed)
        {
            metrics.Completed(new FunctionKey(invocation.Namespace, invocation.FunctionName), result);
        }

        return completed;
    }

    /// <summary>Acknowledges an Event invocation that exceeded its maximum age without running it, sending its record.</summary>
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
        await queue.CompleteAsync(invocation.RequestId, result, cancellationToken).ConfigureAwait(false);
    }
}
