using FnOperator.Contracts.Scaling;
using k8s.Models;

namespace FnOperator.Operator.Autoscaling;

/// <summary>
/// What the autoscaler remembers about one version during one leadership term: when it was last busy (for the idle
/// window) and its burst budget. A new leader starts every version as busy "now", so it waits a whole idle window
/// before shedding anything: a failover never scales down early, and never flaps.
/// </summary>
public sealed class VersionScaleState(DateTimeOffset now, int burstInstances)
{
    private double tokens = burstInstances;
    private DateTimeOffset refilled = now;

    public DateTimeOffset LastBusy { get; private set; } = now;

    public long SeenTerm { get; set; }

    /// <summary>A published version's own spec (from its immutable snapshot), once read.</summary>
    public FnOperator.Api.FunctionSpec? SnapshotSpec { get; set; }

    public void MarkBusy(DateTimeOffset now) => LastBusy = now;

    /// <summary>The version's hand-out count at the last poll that reported one (null: none yet this term).</summary>
    public long? HandOuts { get; private set; }

    /// <summary>
    /// Takes this poll's hand-out count; true when it differs from the last one seen: invocations came (and may have
    /// gone) since, which a poll of depth and in flight alone can miss. A replica coming or going changes the sum too,
    /// which reads as busy once (the safe side). The first count of a term is only remembered.
    /// </summary>
    public bool HandedOutSince(long? handOuts)
    {
        if (handOuts is not { } now)
        {
            return false;
        }

        var changed = HandOuts is { } before && before != now;
        HandOuts = now;
        return changed;
    }

    /// <summary>The busy pods the deletion costs were last set from (null: not this term), and when.</summary>
    public IReadOnlyList<string>? CostsFrom { get; private set; }

    public DateTimeOffset CostsAt { get; private set; } = DateTimeOffset.MinValue;

    public void CostsSet(IReadOnlyList<string> busy, DateTimeOffset now)
    {
        CostsFrom = busy;
        CostsAt = now;
    }

    private KeepAliveTracker? keepAlive;

    /// <summary>The version's keep-alive state (its idle-time histogram when adaptive); a new one when the mode changes.</summary>
    public KeepAliveTracker KeepAliveFor(KeepAliveMode mode) =>
        keepAlive is { } k && k.Mode == mode ? k : keepAlive = new KeepAliveTracker(mode);

    /// <summary>
    /// How long our last scale is taken over a cached Deployment that has not seen it (<see cref="Replicas"/>; a scale
    /// from zero is not repeated meanwhile). Safe to be long: a change by anyone else raises the generation, which ends
    /// it at once.
    /// </summary>
    public static readonly TimeSpan ReplicasTrust = TimeSpan.FromSeconds(60);

    private int requested;
    private DateTimeOffset requestedAt = DateTimeOffset.MinValue;
    private string? requestedUid;
    private long requestedOverGeneration;

    /// <param name="over">The cached Deployment the scale was decided from (its uid and generation tell when the cache has seen the scale).</param>
    public void Requested(int replicas, DateTimeOffset now, V1Deployment over)
    {
        requested = replicas;
        requestedAt = now;
        requestedUid = over.Metadata?.Uid;
        requestedOverGeneration = over.Metadata?.Generation ?? -1;
    }

    /// <summary>
    /// The replicas to decide from: the cached Deployment's, or the count of our last scale while the cache has not seen
    /// it yet (the same object, its generation not past the one we scaled from, within <see cref="ReplicasTrust"/>).
    /// Deciding from the stale count would undo a scale just made: a "scale-up" from a cached 1 to 2 right after a
    /// scale to 4 removes 2 pods without ranking them (drain-aware scale-in marks busy pods only when it sees a scale-in).
    /// </summary>
    public int Replicas(V1Deployment d, DateTimeOffset now) =>
        requestedUid is not null && d.Metadata?.Uid == requestedUid && (d.Metadata.Generation ?? 0) <= requestedOverGeneration && now - requestedAt < ReplicasTrust
            ? requested
            : d.Spec?.Replicas ?? 1;


    /// <summary>
    /// Burst rule (Lambda-like: 1,000 environments per 10 s per function): a token bucket of
    /// <paramref name="burstInstances"/> refilled at that many per <paramref name="window"/>; returns how many of
    /// <paramref name="wanted"/> new instances may be added now (at least one, so a version at zero always starts).
    /// </summary>
    public int TakeBurst(int wanted, DateTimeOffset now, int burstInstances, TimeSpan window)
    {
        var elapsed = Math.Max(0, (now - refilled).TotalSeconds);
        tokens = Math.Min(burstInstances, tokens + (elapsed * burstInstances / Math.Max(0.001, window.TotalSeconds)));
        refilled = now;
        var granted = Math.Max(1, Math.Min(wanted, (int)Math.Floor(tokens)));
        tokens = Math.Max(0, tokens - granted);
        return granted;
    }
}
