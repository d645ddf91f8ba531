namespace FnOperator.Contracts.Scaling;

/// <summary>The limits the autoscaler applies to one function version.</summary>
/// <param name="MinInstances">Floor: instances kept warm at all times (provisioned concurrency).</param>
/// <param name="MaxInstances">Ceiling: scaling.maxReplicas, capped by reserved concurrency.</param>
/// <param name="TargetQueueDepth">Queued plus in-flight invocations per instance the autoscaler aims for.</param>
/// <param name="IdleWindow">How long a function must be idle before instances are shed.</param>
/// <param name="ScaleToZero">Whether shedding goes down to the floor (else to at least one).</param>
/// <param name="PerInstance">Invocations one instance runs at once.</param>
public sealed record ScalingLimits(int MinInstances, int MaxInstances, int TargetQueueDepth, TimeSpan IdleWindow, bool ScaleToZero, int PerInstance = 1)
{
    /// <summary>Window used to shed excess instances when scale to zero is disabled (scaleToZeroAfterSeconds: 0).</summary>
    public static readonly TimeSpan DefaultScaleDownWindow = TimeSpan.FromMinutes(5);

    /// <summary>Demand one instance absorbs: the target depth, and at least as many as it runs at once.</summary>
    public int DemandPerInstance => Math.Max(Math.Max(1, TargetQueueDepth), Math.Max(1, PerInstance));

    /// <summary>
    /// Limits from a function's settings: floor = provisioned; ceiling = maxReplicas, capped by the instances that
    /// reserved concurrency allows (ceil(reserved / perInstance)); the idle window is scaleToZeroAfterSeconds (0 disables
    /// scale to zero), or <paramref name="idleOverride"/>, which also enables it (tests and impatient users).
    /// </summary>
    public static ScalingLimits Create(
        int? provisioned, int? reserved, int maxReplicas, int perInstance, int targetQueueDepth, int scaleToZeroAfterSeconds, TimeSpan? idleOverride = null)
    {
        var slots = Math.Max(1, perInstance);
        var max = maxReplicas;
        if (reserved is { } r)
        {
            max = Math.Min(max, (int)(((long)Math.Max(0, r) + slots - 1) / slots));
        }

        var min = Math.Min(provisioned ?? 0, max);
        var window = idleOverride ?? (scaleToZeroAfterSeconds > 0 ? TimeSpan.FromSeconds(scaleToZeroAfterSeconds) : DefaultScaleDownWindow);
        return new ScalingLimits(min, max, Math.Max(1, targetQueueDepth), window, scaleToZeroAfterSeconds > 0 || idleOverride is not null, slots);
    }
}
