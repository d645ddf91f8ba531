using System.Collections.Concurrent;
using FnOperator.EventSources;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// What the leader's pollers know about each mapping (connected, last error, last batch), read by the reconciler, which
/// is the only writer of EventSourceMapping status. Keyed by mapping and generation, so a stale poller's news is ignored.
/// </summary>
public sealed class EventSourceMappingRuntime
{
    private readonly ConcurrentDictionary<ObjectKey, PollerState> states = new();

    public PollerState? Get(ObjectKey key, long generation) => states.TryGetValue(key, out var s) && s.Generation == generation ? s : null;

    public void Update(ObjectKey key, long generation, Func<PollerState, PollerState> change) =>
        states.AddOrUpdate(key, _ => change(new PollerState(generation)), (_, old) => change(old.Generation == generation ? old : new PollerState(generation)));

    public void Remove(ObjectKey key) => states.TryRemove(key, out _);
}

/// <param name="Connected">The poller is connected to its source.</param>
/// <param name="Error">The last source failure, while not connected.</param>
/// <param name="InvokeDenied">The gateway's refusal of the poller's credentials, until a batch is processed again.</param>
public sealed record PollerState(long Generation, bool Connected = false, SourceException? Error = null, string? LastResult = null, DateTimeOffset? LastProcessedAt = null, string? InvokeDenied = null);
