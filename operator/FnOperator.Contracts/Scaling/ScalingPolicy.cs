namespace FnOperator.Contracts.Scaling;

/// <summary>What the autoscaler sees of one function version at one moment (from any input source).</summary>
/// <param name="Queued">Invocations waiting in the queue.</param>
/// <param name="InFlight">Invocations handed to an instance and not yet completed.</param>
/// <param name="WaitingSyncCallers">
/// Synchronous callers blocked on a result, whether or not their invocation is visible in the queue yet (a replicated
/// queue may lag); each one is demand, which <see cref="Queued"/> and <see cref="InFlight"/> may already count.
/// </param>
/// <param name="Current">Instances running now.</param>
/// <param name="IdleFor">Time since the function last had queued, in-flight or waiting work.</param>
public readonly record struct ScalingInput(int Queued, int InFlight, int WaitingSyncCallers, int Current, TimeSpan IdleFor)
{
    /// <summary>Units of work wanting an instance: queued plus in flight, and at least the waiting sync callers.</summary>
    public int Demand => Math.Max(Math.Max(0, Queued) + Math.Max(0, InFlight), Math.Max(0, WaitingSyncCallers));
}

/// <summary>Why the autoscaler chose its number.</summary>
public enum ScalingReason
{
    /// <summary>No work and nothing running beyond the floor.</summary>
    NoDemand,

    /// <summary>Instances follow demand: ceil(demand / demand per instance).</summary>
    Demand,

    /// <summary>Demand wants fewer than the floor; provisioned concurrency keeps these warm.</summary>
    Floor,

    /// <summary>Demand wants more than the ceiling (maxReplicas or reserved concurrency).</summary>
    Ceiling,

    /// <summary>Fewer are needed than run, but work is still there or the idle window has not passed.</summary>
    KeepWarm,

    /// <summary>Idle for the whole window: shed to the floor (or to one when scale to zero is off).</summary>
    IdleWindowPassed,
}

/// <summary>The autoscaler's decision for one function version: how many instances, and why.</summary>
public readonly record struct ScalingDecision(int Desired, ScalingReason Reason);

/// <summary>
/// The autoscaler's pure decision, shared by local mode's process pool and the cluster autoscaler (their actuators):
/// desired = ceil(demand / demand per instance), clamped to [min, max]. Scaling up happens at once (from zero as soon
/// as work is queued or a sync caller waits); scaling down waits until the function has been idle for the idle
/// window, then drops to the minimum (zero unless provisioned concurrency keeps some warm, or one when scale to zero
/// is disabled).
/// </summary>
public static class ScalingPolicy
{
    public static ScalingDecision Decide(ScalingInput input, ScalingLimits limits)
    {
        var demand = input.Demand;
        var perInstance = limits.DemandPerInstance;
        var wanted = (int)Math.Min(int.MaxValue, ((long)demand + perInstance - 1) / perInstance);
        var ceiling = Math.Max(limits.MinInstances, limits.MaxInstances);
        var desired = Math.Clamp(wanted, limits.MinInstances, ceiling);
        var reason = wanted > ceiling ? ScalingReason.Ceiling
            : wanted < limits.MinInstances ? ScalingReason.Floor
            : demand == 0 ? ScalingReason.NoDemand
            : ScalingReason.Demand;
        if (desired >= input.Current)
        {
            return new(desired, reason);
        }

        // Fewer are needed than run: keep them warm until the idle window has passed, then shed down to the floor.
        if (demand > 0 || input.IdleFor < limits.IdleWindow)
        {
            return input.Current > limits.MaxInstances
                ? new(limits.MaxInstances, ScalingReason.Ceiling)
                : new(input.Current, ScalingReason.KeepWarm);
        }

        var floor = limits.ScaleToZero ? limits.MinInstances : Math.Max(limits.MinInstances, Math.Min(1, limits.MaxInstances));
        return new(Math.Max(desired, floor), ScalingReason.IdleWindowPassed);
    }
}
