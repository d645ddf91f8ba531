using FnOperator.Api;

namespace FnOperator.Gateway.Local;

/// <summary>The limits the autoscaler applies to one function, taken from its spec.</summary>
public sealed record ScalingLimits(int MinInstances, int MaxInstances, int TargetQueueDepth, TimeSpan IdleWindow, bool ScaleToZero)
{
    /// <summary>Window used to shed excess instances when scale to zero is disabled (scaleToZeroAfterSeconds: 0).</summary>
    public static readonly TimeSpan DefaultScaleDownWindow = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Limits from the Function: minimum = concurrency.provisioned; maximum = scaling.maxReplicas, capped by
    /// concurrency.reserved (each shim runs one invocation at a time); <paramref name="idleOverride"/> replaces
    /// scaling.scaleToZeroAfterSeconds (tests and impatient users).
    /// </summary>
    public static ScalingLimits From(FunctionSpec spec, TimeSpan? idleOverride = null)
    {
        var scaling = spec.Scaling ?? new ScalingSpec();
        var max = scaling.MaxReplicas;
        if (spec.Concurrency?.Reserved is { } reserved)
        {
            max = Math.Min(max, reserved);
        }

        var min = Math.Min(spec.Concurrency?.Provisioned ?? 0, max);
        var idleSeconds = scaling.ScaleToZeroAfterSeconds;
        var window = idleOverride ?? (idleSeconds > 0 ? TimeSpan.FromSeconds(idleSeconds) : DefaultScaleDownWindow);
        return new ScalingLimits(min, max, Math.Max(1, scaling.TargetQueueDepth), window, idleSeconds > 0 || idleOverride is not null);
    }
}

/// <summary>What the autoscaler sees of one function at one moment.</summary>
/// <param name="Queued">Invocations waiting in the queue.</param>
/// <param name="InFlight">Invocations handed to a shim and not yet completed.</param>
/// <param name="Current">Shim instances running now.</param>
/// <param name="IdleFor">Time since the function last had queued or in-flight work.</param>
public readonly record struct ScalingInputs(int Queued, int InFlight, int Current, TimeSpan IdleFor);

/// <summary>
/// The autoscaler's decision, shared by local mode: desired = ceil((queued + inFlight) / targetQueueDepth), clamped to
/// [min, max]. Scaling up happens at once (from zero as soon as work is queued); scaling down waits until the function
/// has been idle for the idle window, then drops to the minimum (zero unless provisioned concurrency keeps some warm,
/// or one when scale to zero is disabled).
/// </summary>
public static class ScalingPolicy
{
    public static int Desired(ScalingInputs inputs, ScalingLimits limits)
    {
        var demand = Math.Max(0, inputs.Queued) + Math.Max(0, inputs.InFlight);
        var wanted = (int)Math.Min(int.MaxValue, ((long)demand + limits.TargetQueueDepth - 1) / limits.TargetQueueDepth);
        var desired = Math.Clamp(wanted, limits.MinInstances, Math.Max(limits.MinInstances, limits.MaxInstances));
        if (desired >= inputs.Current)
        {
            return desired;
        }

        // Fewer are needed than run: keep them warm until the idle window has passed, then shed down to the floor.
        if (demand > 0 || inputs.IdleFor < limits.IdleWindow)
        {
            return Math.Min(inputs.Current, limits.MaxInstances);
        }

        var floor = limits.ScaleToZero ? limits.MinInstances : Math.Max(limits.MinInstances, Math.Min(1, limits.MaxInstances));
        return Math.Max(desired, floor);
    }
}
