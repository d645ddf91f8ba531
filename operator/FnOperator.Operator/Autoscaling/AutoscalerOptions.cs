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

    /// <summary>Most versions tracked at once (per-version state is bounded).</summary>
    public int MaxVersions { get; init; } = 10_000;
}
