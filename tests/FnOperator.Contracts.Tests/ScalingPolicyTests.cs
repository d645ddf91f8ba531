using FnOperator.Api;
using FnOperator.Contracts.Scaling;

namespace FnOperator.Contracts.Tests;

public sealed class ScalingPolicyTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    public static TheoryData<string, int, int, int, int, int, int, int, bool, int> Cases => new()
    {
        // name, queued, inFlight, current, idleSeconds, min, max, targetDepth, scaleToZero, expected
        { "idle and at zero stays at zero", 0, 0, 0, 0, 0, 10, 1, true, 0 },
        { "first queued invocation starts one at once", 1, 0, 0, 0, 0, 10, 1, true, 1 },
        { "queued plus in flight over target depth one", 3, 2, 1, 0, 0, 10, 1, true, 5 },
        { "target depth divides and rounds up", 5, 0, 0, 0, 0, 10, 2, true, 3 },
        { "clamped to the maximum", 50, 0, 2, 0, 0, 4, 1, true, 4 },
        { "provisioned minimum kept warm with no work", 0, 0, 0, 999, 2, 10, 1, true, 2 },
        { "idle but inside the window keeps instances warm", 0, 0, 3, 30, 0, 10, 1, true, 3 },
        { "idle past the window scales to zero", 0, 0, 3, 60, 0, 10, 1, true, 0 },
        { "idle past the window keeps the provisioned minimum", 0, 0, 3, 120, 1, 10, 1, true, 1 },
        { "less work than instances but busy keeps them", 1, 0, 4, 0, 0, 10, 1, true, 4 },
        { "scale to zero disabled keeps one after the window", 0, 0, 3, 600, 0, 10, 1, false, 1 },
        { "scale to zero disabled and never started stays at zero", 0, 0, 0, 600, 0, 10, 1, false, 0 },
        { "reserved concurrency zero runs nothing", 5, 0, 0, 0, 0, 0, 1, true, 0 },
        { "above a lowered maximum sheds to the maximum", 9, 0, 8, 0, 0, 4, 1, true, 4 },
        { "negative counters are treated as zero", -3, -1, 0, 0, 0, 10, 1, true, 0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Desired_instances_follow_queue_depth_and_limits(
        string name, int queued, int inFlight, int current, int idleSeconds, int min, int max, int target, bool scaleToZero, int expected)
    {
        var limits = new ScalingLimits(min, max, target, Window, scaleToZero);
        var desired = ScalingPolicy.Decide(new ScalingInput(queued, inFlight, 0, current, TimeSpan.FromSeconds(idleSeconds)), limits).Desired;
        Assert.True(expected == desired, $"{name}: expected {expected}, got {desired}");
    }

    public static TheoryData<string, int, int, int, int, int, int, ScalingReason> WaitingAndPerInstanceCases => new()
    {
        // name, queued, inFlight, waitingSync, current, perInstance, expected desired, expected reason
        { "a waiting sync caller at zero starts one before the queue shows it", 0, 0, 1, 0, 1, 1, ScalingReason.Demand },
        { "waiting callers already queued are not counted twice", 3, 0, 3, 0, 1, 3, ScalingReason.Demand },
        { "more waiting callers than queued drive the count", 1, 1, 6, 2, 1, 6, ScalingReason.Demand },
        { "four per instance need two instances for eight", 6, 2, 0, 0, 4, 2, ScalingReason.Demand },
        { "four per instance round up", 5, 0, 0, 0, 4, 2, ScalingReason.Demand },
        { "per instance applies to waiting callers too", 0, 0, 9, 1, 4, 3, ScalingReason.Demand },
        { "per instance demand over the ceiling is capped", 100, 0, 0, 1, 2, 10, ScalingReason.Ceiling },
        { "no work at zero is no demand", 0, 0, 0, 0, 4, 0, ScalingReason.NoDemand },
    };

    [Theory]
    [MemberData(nameof(WaitingAndPerInstanceCases))]
    public void Waiting_sync_callers_and_per_instance_concurrency_set_demand(
        string name, int queued, int inFlight, int waiting, int current, int perInstance, int expected, ScalingReason reason)
    {
        var limits = new ScalingLimits(0, 10, 1, Window, ScaleToZero: true, PerInstance: perInstance);

        var decision = ScalingPolicy.Decide(new ScalingInput(queued, inFlight, waiting, current, TimeSpan.Zero), limits);

        Assert.True(new ScalingDecision(expected, reason) == decision, $"{name}: expected {expected} ({reason}), got {decision}");
    }

    public static TheoryData<string, ScalingInput, ScalingReason> ReasonCases => new()
    {
        { "provisioned floor", new ScalingInput(0, 0, 0, 0, TimeSpan.Zero), ScalingReason.Floor },
        { "inside the idle window", new ScalingInput(0, 0, 0, 5, TimeSpan.FromSeconds(10)), ScalingReason.KeepWarm },
        { "idle window passed", new ScalingInput(0, 0, 0, 5, TimeSpan.FromSeconds(90)), ScalingReason.IdleWindowPassed },
        { "more running than the ceiling", new ScalingInput(1, 0, 0, 9, TimeSpan.Zero), ScalingReason.Ceiling },
    };

    [Theory]
    [MemberData(nameof(ReasonCases))]
    public void Decision_says_why(string name, ScalingInput input, ScalingReason expected)
    {
        var limits = new ScalingLimits(MinInstances: 2, MaxInstances: 6, TargetQueueDepth: 1, Window, ScaleToZero: true);

        Assert.True(expected == ScalingPolicy.Decide(input, limits).Reason, name);
    }

    [Fact]
    public void Limits_come_from_the_spec_with_reserved_capping_max_replicas()
    {
        var spec = new FunctionSpec
        {
            Concurrency = new ConcurrencySpec { Reserved = 3, Provisioned = 1 },
            Scaling = new ScalingSpec { MaxReplicas = 10, ScaleToZeroAfterSeconds = 45, TargetQueueDepth = 2 },
        };

        var limits = FunctionScaling.Limits(spec);

        Assert.Equal(new ScalingLimits(1, 3, 2, TimeSpan.FromSeconds(45), true), limits);
    }

    [Fact]
    public void Reserved_concurrency_caps_instances_by_what_each_runs_at_once()
    {
        var spec = new FunctionSpec
        {
            Concurrency = new ConcurrencySpec { Reserved = 10, PerInstance = 4 },
            Scaling = new ScalingSpec { MaxReplicas = 10 },
        };

        var limits = FunctionScaling.Limits(spec);

        Assert.Equal((3, 4), (limits.MaxInstances, limits.PerInstance));
    }

    [Fact]
    public void Idle_override_replaces_the_spec_window_and_enables_scale_to_zero()
    {
        var spec = new FunctionSpec { Scaling = new ScalingSpec { ScaleToZeroAfterSeconds = 0 } };

        var limits = FunctionScaling.Limits(spec, TimeSpan.FromSeconds(2));

        Assert.Equal(TimeSpan.FromSeconds(2), limits.IdleWindow);
        Assert.True(limits.ScaleToZero);
    }

    [Fact]
    public void Defaults_allow_ten_instances_and_scale_to_zero_after_five_minutes()
    {
        var limits = FunctionScaling.Limits(new FunctionSpec());

        Assert.Equal(new ScalingLimits(0, 10, 1, TimeSpan.FromMinutes(5), true), limits);
    }

    [Fact]
    public void Local_pool_runs_one_invocation_per_instance_for_a_runtime_that_cannot_run_several()
    {
        var spec = new FunctionSpec { Runtime = "python3.12", Concurrency = new ConcurrencySpec { Reserved = 8, PerInstance = 4 } };

        var limits = FnOperator.Gateway.Local.FunctionPool.LimitsFor(spec);

        Assert.Equal((1, 8), (limits.PerInstance, limits.MaxInstances));
    }

    [Fact]
    public void Local_pool_gives_a_node_instance_the_spec_s_per_instance_concurrency()
    {
        var spec = new FunctionSpec { Runtime = "nodejs22.x", Concurrency = new ConcurrencySpec { Reserved = 8, PerInstance = 4 } };

        var limits = FnOperator.Gateway.Local.FunctionPool.LimitsFor(spec);

        Assert.Equal((4, 2), (limits.PerInstance, limits.MaxInstances));
    }
}
