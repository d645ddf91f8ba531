namespace FnOperator.Operator.Autoscaling;

/// <summary>The cluster autoscaler's settings, bound from "Operator:Autoscaler" (env Operator__Autoscaler__…).</summary>
public sealed record AutoscalerOptions
{
    public const string Section = OperatorOptions.Section + ":Autoscaler";

    /// <summary>How often the gateway's stats are read and every autoscaled version decided.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Burst rule: at most this many instances added per version per <see cref="BurstWindow"/> (Lambda: 1,000 per 10 s).</summary>
    public int BurstInstances { get; init; } = 1000;

    public TimeSpan BurstWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Replaces every function's scaleToZeroAfterSeconds (tests); null keeps the spec's.</summary>
    public TimeSpan? IdleOverride { get; init; }

    /// <summary>First delay before reconnecting the gateway's push stream (work at zero); doubles per failure up to 30 s.</summary>
    public TimeSpan PushReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The gateway Service whose EndpointSlices name every gateway replica (the chart sets it): each replica's stats and
    /// busy instances are read and its push stream held. Empty: only <c>Operator:GatewayUrl</c> (one replica's view).
    /// </summary>
    public string GatewayService { get; init; } = "";

    /// <summary>Namespace of that Service; empty = the operator's own (<c>Operator:PodNamespace</c>, the release namespace).</summary>
    public string GatewayNamespace { get; init; } = "";

    /// <summary>The EndpointSlice port (the Service port's name) serving the gateway's stats and pushes.</summary>
    public string GatewayPortName { get; init; } = "http";

    /// <summary>Most gateway replicas read and streamed from (a bound on push streams and on reads per poll).</summary>
    public int MaxGatewayReplicas { get; init; } = 32;

    /// <summary>
    /// A listed replica whose stats cannot be read holds scale-ins (its busy pods and callers are unknown) for at most
    /// this long; then it is left out until it answers again, so a replica that is gone does not stall scaling.
    /// </summary>
    public TimeSpan ReplicaFailureGrace { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Deletion costs follow the busy state between scale-ins: a version whose busy pods changed is re-marked at most
    /// once per this interval, and at most <see cref="MaxCostRefreshesPerPoll"/> versions per poll (patches only on change).
    /// Zero: costs are set only just before the autoscaler's own scale-ins.
    /// </summary>
    public TimeSpan CostRefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    public int MaxCostRefreshesPerPoll { get; init; } = 5;

    /// <summary>Most versions tracked at once (per-version state is bounded).</summary>
    public int MaxVersions { get; init; } = 10_000;
}
