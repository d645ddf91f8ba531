using FnOperator.Contracts;
using FnOperator.Gateway.Async;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Api;

/// <summary>
/// The transport-free core of the pull protocol: hand-out (lease, expired events settled on the way, the instance lease
/// and cold-start bookkeeping), completion (result to the sync caller, the async processor and destinations) and
/// release. <see cref="PullEndpoints"/> (HTTP, runtime-shim processes) and local mode's in-process instances
/// (<see cref="Local.InProcessInvocationSource"/>) both call it, so the two have the same semantics; authentication and
/// the wire format stay with the transport.
/// </summary>
public sealed partial class PullCore(
    FunctionRegistry functions,
    IInvocationQueue queue,
    InvocationCompletion completion,
    AsyncInvocationProcessor asyncProcessor,
    GatewayOptions options,
    InstanceLeases instances,
    Metrics.ColdStartTracker coldStarts,
    ILogger<PullCore> logger)
{
    /// <summary>True while the function version exists (a pull for a removed one is answered 410 / closes the source).</summary>
    public bool HasVersion(FunctionKey key, string version) => functions.HasVersion(key, version);

    /// <summary>A worker waits for work of the version (cold-start tracking: the version has an instance) until disposed.</summary>
    public PollScope BeginPoll(FunctionKey key, string version)
    {
        coldStarts.PollStarted(key, version);
        return new PollScope(coldStarts, key, version);
    }

    /// <summary>Ends the poll of <see cref="BeginPoll"/>.</summary>
    public readonly struct PollScope(Metrics.ColdStartTracker tracker, FunctionKey key, string version) : IDisposable
    {
        public void Dispose() => tracker.PollEnded(key, version);
    }

    /// <summary>
    /// Leases the next invocation of the version, waiting up to <paramref name="waitMs"/> (at most
    /// <see cref="GatewayOptions.MaxPullWait"/>); events past their maximum age are settled (EventAgeExceeded) and skipped.
    /// The invocation returned is recorded as handed to <paramref name="instance"/>; the caller delivers it or gives it
    /// back with <see cref="HandOutFailedAsync"/>. Null when nothing came within the wait or <paramref name="cancellationToken"/> fired.
    /// </summary>
    public async Task<Invocation?> NextAsync(FunctionKey key, string version, int waitMs, string? instance, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(Math.Min(Math.Max(0, waitMs), options.MaxPullWait.TotalMilliseconds));
        while (true)
        {
            var remaining = deadline - DateTimeOffset.UtcNow;
            Invocation? invocation;
            try
            {
                invocation = await queue.NextAsync(key, version, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return null;
            }

            if (invocation is null)
            {
                return null;
            }

            if (asyncProcessor.IsExpired(invocation))
            {
                await completion.ExpireAsync(invocation, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            if (invocation is { Type: InvocationType.Event, LeaseToken: { } lease } && options.MaxEventDeliveries > 0 && invocation.Delivery > options.MaxEventDeliveries)
            {
                // Every earlier delivery of this attempt was lost: a failed attempt (retry or failure destination), not run again.
                LogDeliveriesExhausted(logger, invocation.Namespace, invocation.FunctionName, invocation.RequestId, invocation.Attempt, invocation.Delivery - 1);
                await completion.CompleteAsync(invocation.RequestId, lease, LeaseLost.DeliveriesExhausted(invocation, invocation.Delivery - 1), CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            instances.Handed(instance, invocation);
            coldStarts.Started(invocation);
            return invocation;
        }
    }

    /// <summary>The hand-out of <see cref="NextAsync"/> could not be delivered (the worker went away): the invocation goes back to the queue.</summary>
    public async Task HandOutFailedAsync(Invocation invocation)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        LogHandOutFailed(logger, invocation.RequestId);
        instances.Ended(invocation.RequestId);
        await queue.ReleaseAsync(invocation.RequestId, invocation.LeaseToken ?? "", CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Records a worker's result for the lease (the sync caller is answered; an event's retry or destination is enqueued
    /// first). The completed invocation, or null when that lease is not in flight (completed, released, expired).
    /// </summary>
    public async Task<Invocation?> CompleteAsync(string requestId, string leaseToken, InvocationResult result)
    {
        coldStarts.Active(instances.Ended(requestId));
        return await completion.CompleteAsync(requestId, leaseToken, result, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Puts a leased invocation back at the head of its queue; false when that lease is not in flight.</summary>
    public async Task<bool> ReleaseAsync(string requestId, string leaseToken, CancellationToken cancellationToken)
    {
        coldStarts.Active(instances.Ended(requestId));
        return await queue.ReleaseAsync(requestId, leaseToken, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event attempt lost on every delivery, counted as a failed attempt namespace={Namespace} function={Function} requestId={RequestId} attempt={Attempt} deliveries={Deliveries}")]
    private static partial void LogDeliveriesExhausted(ILogger logger, string @namespace, string function, string requestId, int attempt, int deliveries);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Released invocation whose hand-out to a worker failed requestId={RequestId}")]
    private static partial void LogHandOutFailed(ILogger logger, string requestId);
}
