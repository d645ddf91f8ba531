using FnOperator.Api;
using FnOperator.Gateway.Local;

namespace FnOperator.Gateway.Tests.Local;

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
        var desired = ScalingPolicy.Desired(new ScalingInputs(queued, inFlight, current, TimeSpan.FromSeconds(idleSeconds)), limits);
        Assert.True(expected == desired, $"{name}: expected {expected}, got {desired}");
    }

    [Fact]
    public void Limits_come_from_the_spec_with_reserved_capping_max_replicas()
    {
        var spec = new FunctionSpec
        {
            Concurrency = new ConcurrencySpec { Reserved = 3, Provisioned = 1 },
            Scaling = new ScalingSpec { MaxReplicas = 10, ScaleToZeroAfterSeconds = 45, TargetQueueDepth = 2 },
        };

        var limits = ScalingLimits.From(spec);

        Assert.Equal(new ScalingLimits(1, 3, 2, TimeSpan.FromSeconds(45), true), limits);
    }

    [Fact]
    public void Idle_override_replaces_the_spec_window_and_enables_scale_to_zero()
    {
        var spec = new FunctionSpec { Scaling = new ScalingSpec { ScaleToZeroAfterSeconds = 0 } };

        var limits = ScalingLimits.From(spec, TimeSpan.FromSeconds(2));

        Assert.Equal(TimeSpan.FromSeconds(2), limits.IdleWindow);
        Assert.True(limits.ScaleToZero);
    }

    [Fact]
    public void Defaults_allow_ten_instances_and_scale_to_zero_after_five_minutes()
    {
        var limits = ScalingLimits.From(new FunctionSpec());

        Assert.Equal(new ScalingLimits(0, 10, 1, TimeSpan.FromMinutes(5), true), limits);
    }
}
