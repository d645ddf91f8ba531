namespace FnOperator.Operator.Autoscaling;

/// <summary>One function version the autoscaler scales: namespace, function name, version ("$LATEST" or a number).</summary>
public readonly record struct VersionKey(string Namespace, string Function, string Version)
{
    public override string ToString() => $"{Namespace}/{Function}:{Version}";
}

/// <summary>
/// A version's queue counters as the gateway reports them, the instances (pod names) holding a lease, and the
/// invocations handed out so far (<see cref="HandOuts"/>: only grows; summed over the replicas; null when no replica
/// counts them, e.g. an older gateway).
/// </summary>
public readonly record struct VersionLoad(int Depth, int InFlight, int WaitingSync, IReadOnlyList<string>? Busy = null, long? HandOuts = null)
{
    public bool Equals(VersionLoad other) =>
        Depth == other.Depth && InFlight == other.InFlight && WaitingSync == other.WaitingSync && HandOuts == other.HandOuts
        && (Busy ?? []).SequenceEqual(other.Busy ?? [], StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Depth, InFlight, WaitingSync, (Busy ?? []).Count, HandOuts);
}

/// <summary>Where the autoscaler reads each version's load from (the gateway's stats endpoint in a cluster).</summary>
public interface IScalingInputSource
{
    /// <summary>
    /// Load per version; versions absent have none. Throws when the source cannot be read. A
    /// <see cref="CombinedLoads"/> with unread replicas is partial: the autoscaler then scales up only.
    /// </summary>
    Task<IReadOnlyDictionary<VersionKey, VersionLoad>> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>Sets a version's instance count (the Deployment's scale subresource in a cluster).</summary>
public interface IScaleActuator
{
    /// <summary>
    /// Sets the count to <paramref name="replicas"/> only while it is still <paramref name="from"/>, the count the
    /// decision was made from (as <c>kubectl scale --current-replicas</c>). Throws an HttpOperationException with 422 when
    /// the count has changed: the decision came from a cache behind the API and would undo a newer scale (our own, a
    /// former leader's, or kubectl's).
    /// </summary>
    Task ScaleAsync(string @namespace, string deployment, int from, int replicas, CancellationToken cancellationToken);

    /// <summary>
    /// Before a scale-in: ranks the Deployment's pods so the ones removed are idle (busy pods get a higher
    /// pod-deletion-cost than idle ones). Pods not named in <paramref name="busy"/> are idle.
    /// </summary>
    Task MarkBusyAsync(string @namespace, string deployment, IReadOnlyCollection<string> busy, CancellationToken cancellationToken);
}
