namespace FnOperator.Operator.Autoscaling;

/// <summary>One function version the autoscaler scales: namespace, function name, version ("$LATEST" or a number).</summary>
public readonly record struct VersionKey(string Namespace, string Function, string Version)
{
    public override string ToString() => $"{Namespace}/{Function}:{Version}";
}

/// <summary>A version's queue counters as the gateway reports them.</summary>
public readonly record struct VersionLoad(int Depth, int InFlight, int WaitingSync);

/// <summary>Where the autoscaler reads each version's load from (the gateway's stats endpoint in a cluster).</summary>
public interface IScalingInputSource
{
    /// <summary>Load per version; versions absent have none. Throws when the source cannot be read.</summary>
    Task<IReadOnlyDictionary<VersionKey, VersionLoad>> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>Sets a version's instance count (the Deployment's scale subresource in a cluster).</summary>
public interface IScaleActuator
{
    Task ScaleAsync(string @namespace, string deployment, int replicas, CancellationToken cancellationToken);
}
