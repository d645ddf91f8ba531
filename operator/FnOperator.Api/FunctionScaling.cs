using FnOperator.Contracts.Scaling;

namespace FnOperator.Api;

/// <summary>A Function's autoscaling limits from its spec, the same for local mode's pool and the cluster autoscaler.</summary>
public static class FunctionScaling
{
    /// <summary>
    /// Floor = concurrency.provisioned; ceiling = scaling.maxReplicas capped by concurrency.reserved;
    /// per instance = concurrency.perInstance, or <paramref name="perInstance"/> when the actuator's instances run a
    /// different number at once (a local shim runs one); <paramref name="idleOverride"/> replaces
    /// scaling.scaleToZeroAfterSeconds.
    /// </summary>
    public static ScalingLimits Limits(FunctionSpec spec, TimeSpan? idleOverride = null, int? perInstance = null)
    {
        var scaling = spec.Scaling ?? new ScalingSpec();
        var concurrency = spec.Concurrency ?? new ConcurrencySpec();
        return ScalingLimits.Create(
            concurrency.Provisioned, concurrency.Reserved, scaling.MaxReplicas, perInstance ?? concurrency.PerInstance,
            scaling.TargetQueueDepth, scaling.ScaleToZeroAfterSeconds, idleOverride);
    }

    /// <summary>scaling.keepAlive: adaptive (the hybrid histogram policy) or fixed (the default).</summary>
    public static FnOperator.Contracts.Scaling.KeepAliveMode KeepAlive(FunctionSpec spec) =>
        string.Equals(spec.Scaling?.KeepAlive, "adaptive", StringComparison.Ordinal)
            ? FnOperator.Contracts.Scaling.KeepAliveMode.Adaptive
            : FnOperator.Contracts.Scaling.KeepAliveMode.Fixed;
}
