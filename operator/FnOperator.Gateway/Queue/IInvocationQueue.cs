using FnOperator.Contracts;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Queue;

/// <summary>Queue counters for one function (all versions).</summary>
/// <param name="Depth">Invocations waiting to be handed out (including delayed retries).</param>
/// <param name="InFlight">Invocations leased to a worker and not yet completed or released.</param>
/// <param name="WaitingSync">Synchronous invocations queued that no worker has started yet (callers waiting on a cold start).</param>
public sealed record QueueStats(int Depth, int InFlight, int WaitingSync);

/// <summary>How an invocation is enqueued.</summary>
/// <param name="AckWait">Lease length once handed out: when neither completed nor released in time, it is delivered again.</param>
/// <param name="Delay">Not handed out before this much time has passed (async retry backoff).</param>
/// <param name="FromCaller">
/// The enqueue answers a caller (an async Invoke): when it fails the caller is told the event was not accepted, so a copy
/// the queue stores after that answer (a publish written just before a broker outage and replayed after it) must never run.
/// Follow-ups (retries, destination invocations) leave it false: their copies are deduplicated by message id instead.
/// </param>
public sealed record EnqueueOptions(TimeSpan AckWait, TimeSpan Delay = default, bool FromCaller = false);

/// <summary>
/// A synchronous invocation in the queue, whose caller is waiting. Sync invocations are executed at most once: when the
/// worker holding one dies (its lease expires) the caller receives <see cref="LeaseLost"/>'s error result instead of a
/// second run (Lambda answers a crashed sandbox with Runtime.ExitError); a released one is handed out again.
/// </summary>
public interface ISyncInvocation
{
    /// <summary>Completes when a worker first leases the invocation.</summary>
    Task Started { get; }

    /// <summary>Completes with the worker's result.</summary>
    Task<InvocationResult> Result { get; }

    /// <summary>True while a worker holds the invocation (leased, lease not expired).</summary>
    bool Running { get; }

    /// <summary>Completes at the next change of state (leased, lease lost or released, completed). Take it before reading the state.</summary>
    Task Changed { get; }

    /// <summary>How many times a worker has leased the invocation (more than 1 after a lease expired or a release).</summary>
    int Deliveries { get; }

    /// <summary>Withdraws the invocation unless a worker holds it right now. False when it is running (its result will be dropped).</summary>
    bool TryWithdraw();
}

/// <summary>The result a sync caller receives when the worker running its invocation was lost (lease expired).</summary>
public static class LeaseLost
{
    public const string ErrorType = "Runtime.ExitError";

    public static InvocationResult Result(Invocation invocation) => new()
    {
        RequestId = invocation.RequestId,
        Outcome = InvocationOutcome.FunctionError,
        FunctionError = "Unhandled",
        ErrorType = ErrorType,
        Payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
        {
            errorMessage = $"RequestId: {invocation.RequestId} Error: the function instance was lost before it returned a result (it was not run again)",
            errorType = ErrorType,
        }),
        ExecutedVersion = invocation.Version,
    };

    /// <summary>
    /// The failed attempt of an Event handed out more than <see cref="GatewayOptions.MaxEventDeliveries"/> times (every
    /// earlier lease expired or was released): Lambda counts a lost sandbox as a function error, so the retry policy
    /// and the failure destination take it from here instead of redelivering it until its maximum age.
    /// </summary>
    public static InvocationResult DeliveriesExhausted(Invocation invocation, int deliveries) => new()
    {
        RequestId = invocation.RequestId,
        Outcome = InvocationOutcome.FunctionError,
        FunctionError = "Unhandled",
        ErrorType = ErrorType,
        Payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
        {
            errorMessage = $"RequestId: {invocation.RequestId} Error: the function instance was lost before it returned a result on each of {deliveries} deliveries of attempt {invocation.Attempt}",
            errorType = ErrorType,
        }),
        ExecutedVersion = invocation.Version,
    };
}

/// <summary>
/// The gateway's invocation queue. Delivery is at-least-once with leases: <see cref="NextAsync"/> hands an invocation out
/// with an ack deadline; <see cref="CompleteAsync"/> acknowledges it, <see cref="ReleaseAsync"/> puts it back, and a lease
/// that expires puts an async invocation back too (a sync one is answered with <see cref="LeaseLost"/>). The shape maps onto NATS JetStream: one work-queue stream, a subject per
/// function version (<c>fnop.inv.{ns}.{name}.{version}</c>), a pull consumer per function version (<c>NextAsync</c> = fetch
/// with expiry, <c>CompleteAsync</c> = ack, <c>ReleaseAsync</c> = nak, lease = AckWait, redelivery = JetStream's),
/// delayed retries as nak-with-delay, depth = consumer num_pending, in flight = num_ack_pending, sync results over a
/// reply subject of the caller's replica (<see cref="JetStreamInvocationQueue"/>). See docs/gateway.md.
/// </summary>
public interface IInvocationQueue
{
    /// <summary>
    /// Raised (outside any lock) when an invocation for the function is enqueued or becomes due, so a scaler can start
    /// workers from zero. The in-memory queue raises it only when the invocation waits for a worker: one a waiting worker
    /// took at once needs no instance started (its start shows in <see cref="HandOuts"/>).
    /// </summary>
    event Action<FunctionKey>? WorkArrived;

    /// <summary>
    /// Invocations of the version handed to workers since the queue began (a count that only grows), or null where the
    /// queue does not count them. A scaler that looks now and then sees by it work that started and ended between two
    /// looks (its idle window must not pass while short invocations keep coming).
    /// </summary>
    long? HandOuts(FunctionKey key, string version) => null;

    /// <summary>Durably enqueues an asynchronous invocation (or an async retry). When this returns the invocation is accepted.</summary>
    ValueTask EnqueueAsync(Invocation invocation, EnqueueOptions options, CancellationToken cancellationToken);

    /// <summary>Enqueues a synchronous invocation whose result the caller awaits through the returned handle.</summary>
    ValueTask<ISyncInvocation> EnqueueSyncAsync(Invocation invocation, EnqueueOptions options, CancellationToken cancellationToken);

    /// <summary>Leases the next invocation of the function version, waiting up to <paramref name="wait"/>. Null when none arrived.</summary>
    ValueTask<Invocation?> NextAsync(FunctionKey key, string version, TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>
    /// The leased invocation with this request id and lease token (<see cref="Invocation.LeaseToken"/>), or null when that
    /// lease is not in flight (completed, released, expired, or the token is of an older lease).
    /// </summary>
    ValueTask<Invocation?> GetInFlightAsync(string requestId, string leaseToken, CancellationToken cancellationToken);

    /// <summary>Acknowledges a leased invocation with its result (a sync caller receives it). False when the lease is not in flight.</summary>
    ValueTask<bool> CompleteAsync(string requestId, string leaseToken, InvocationResult result, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="CompleteAsync(string, string, InvocationResult, CancellationToken)"/>, running <paramref name="acknowledged"/>
    /// once the lease is acknowledged and before a sync caller waiting in this process is answered (what it records, e.g.
    /// metrics, is in place when the caller sees the answer). Not run when the lease is not in flight.
    /// </summary>
    async ValueTask<bool> CompleteAsync(string requestId, string leaseToken, InvocationResult result, Action acknowledged, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(acknowledged);
        var completed = await CompleteAsync(requestId, leaseToken, result, cancellationToken).ConfigureAwait(false);
        if (completed)
        {
            acknowledged();
        }

        return completed;
    }

    /// <summary>Puts a leased invocation back at the head of its queue. False when the lease is not in flight.</summary>
    ValueTask<bool> ReleaseAsync(string requestId, string leaseToken, CancellationToken cancellationToken);

    /// <summary>Counters of the function (all versions). A distributed queue answers from a snapshot refreshed in the background.</summary>
    QueueStats GetStats(FunctionKey key);

    /// <summary>The same counters per version of the function (the autoscaler scales each version's Deployment); versions without work may be absent.</summary>
    IReadOnlyDictionary<string, QueueStats> GetVersionStats(FunctionKey key);

    /// <summary>
    /// Removes and returns the queued (not leased) invocations of the function that match <paramref name="predicate"/>,
    /// e.g. events past their maximum age that no worker will take. An implementation that cannot scan (JetStream) may
    /// return none; expiry is then enforced when the invocation is handed out.
    /// </summary>
    IReadOnlyList<Invocation> TakeQueued(FunctionKey key, Func<Invocation, bool> predicate);

    /// <summary>Completes as soon as the function has queued work (immediately when it already has).</summary>
    Task WaitForWorkAsync(FunctionKey key, CancellationToken cancellationToken);

    /// <summary>Caps how many invocations of the function are leased at once (reserved concurrency); null = no cap, 0 = none.</summary>
    void SetConcurrencyLimit(FunctionKey key, int? limit);
}
