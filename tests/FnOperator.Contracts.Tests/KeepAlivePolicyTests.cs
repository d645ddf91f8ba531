using FnOperator.Api;
using FnOperator.Contracts.Scaling;

namespace FnOperator.Contracts.Tests;

/// <summary>The adaptive keep-alive (hybrid histogram policy): histogram, representativeness, windows, limits, tracker.</summary>
public sealed class KeepAlivePolicyTests
{
    private static readonly TimeSpan Fixed = TimeSpan.FromMinutes(5);
    private static readonly KeepAliveOptions Options = KeepAliveOptions.Default; // 5 s bins × 720 = 1 h, min 10 samples, CV ≥ 2

    private static IdleTimeHistogram Histogram(params double[] idleSeconds)
    {
        var h = new IdleTimeHistogram(Options.BinWidth, Options.Bins);
        foreach (var s in idleSeconds)
        {
            h.Record(TimeSpan.FromSeconds(s));
        }

        return h;
    }

    private static double[] Repeat(double seconds, int times) => [.. Enumerable.Repeat(seconds, times)];

    public static TheoryData<string, double[], bool, double, double> Windows => new()
    {
        // name, idle times (s), adaptive, pre-warm (s), keep-alive (s)
        { "no idle times yet: fixed", [], false, 0, 300 },
        { "too few idle times: fixed", Repeat(900, 9), false, 0, 300 },
        { "a timer every 15 min: shed at once, pre-warm at 90 % of 15 min, warm until 110 % of its bin's end", Repeat(900, 20), true, 810, 995.5 },
        { "short gaps (20 s): no pre-warm, warm until 110 % of the 25 s bin end", Repeat(20, 30), true, 0, 27.5 },
        { "idle times spread flat over the whole range: fixed", [.. Enumerable.Range(0, 720).Select(i => i * 5.0 + 1)], false, 0, 300 },
        { "mostly past the 1 h range: fixed", [.. Repeat(7200, 20), .. Repeat(60, 10)], false, 0, 300 },
        { "two peaks (1 min and 10 min): head at the first, tail past the second", [.. Repeat(60, 50), .. Repeat(600, 50)], true, 54, 665.5 },
    };

    [Theory]
    [MemberData(nameof(Windows))]
    public void Window_follows_the_idle_time_distribution_or_falls_back_to_fixed(string name, double[] idle, bool adaptive, double preWarm, double keepAlive)
    {
        var window = KeepAlivePolicy.Window(Histogram(idle), Fixed, Options);

        Assert.True(adaptive == window.Adaptive, $"{name}: adaptive {window.Adaptive}");
        Assert.True(Math.Abs(preWarm - window.PreWarm.TotalSeconds) < 0.01, $"{name}: pre-warm {window.PreWarm.TotalSeconds}");
        Assert.True(Math.Abs(keepAlive - window.KeepAlive.TotalSeconds) < 0.01, $"{name}: keep-alive {window.KeepAlive.TotalSeconds}");
    }

    public static TheoryData<string, double, int, int> Applied => new()
    {
        // pre-warm 600 s, keep-alive 1000 s, floor 0, at zero (current 0) or one running: name, idle for (s), current, desired
        { "just idle, one running: shed at once (no call expected before the pre-warm point)", 5, 1, 0 },
        { "before the pre-warm point at zero: stays at zero", 300, 0, 0 },
        { "at the pre-warm point: one instance started without a call", 600, 0, 1 },
        { "between pre-warm and keep-alive: kept", 900, 1, 1 },
        { "past keep-alive: shed", 1000, 1, 0 },
    };

    [Theory]
    [MemberData(nameof(Applied))]
    public void Adaptive_limits_shed_before_the_expected_call_and_pre_warm_for_it(string name, double idleSeconds, int current, int expected)
    {
        var window = new KeepAliveWindow(TimeSpan.FromSeconds(600), TimeSpan.FromSeconds(1000), Adaptive: true);
        var limits = KeepAlivePolicy.Apply(new ScalingLimits(0, 10, 1, Fixed, ScaleToZero: true), window, TimeSpan.FromSeconds(idleSeconds));

        var desired = ScalingPolicy.Decide(new ScalingInput(0, 0, 0, current, TimeSpan.FromSeconds(idleSeconds)), limits).Desired;

        Assert.True(expected == desired, $"{name}: expected {expected}, got {desired}");
    }

    [Fact]
    public void Adaptive_keeps_provisioned_floor_scale_to_zero_off_and_zero_ceiling_as_they_are()
    {
        var window = new KeepAliveWindow(TimeSpan.FromSeconds(600), TimeSpan.FromSeconds(1000), Adaptive: true);
        var provisioned = KeepAlivePolicy.Apply(new ScalingLimits(2, 10, 1, Fixed, true), window, TimeSpan.FromSeconds(5));
        Assert.Equal(2, ScalingPolicy.Decide(new ScalingInput(0, 0, 0, 3, TimeSpan.FromSeconds(5)), provisioned).Desired);
        var noZero = new ScalingLimits(0, 10, 1, Fixed, ScaleToZero: false);
        Assert.Equal(noZero, KeepAlivePolicy.Apply(noZero, window, TimeSpan.FromSeconds(5)));
        var reservedZero = new ScalingLimits(0, 0, 1, Fixed, true);
        Assert.Equal(0, ScalingPolicy.Decide(new ScalingInput(0, 0, 0, 0, TimeSpan.FromSeconds(700)), KeepAlivePolicy.Apply(reservedZero, window, TimeSpan.FromSeconds(700))).Desired);
    }

    [Fact]
    public void Tracker_records_one_idle_time_per_idle_period_and_only_when_adaptive()
    {
        var adaptive = new KeepAliveTracker(KeepAliveMode.Adaptive);
        var fixedMode = new KeepAliveTracker(KeepAliveMode.Fixed);
        foreach (var t in new[] { adaptive, fixedMode })
        {
            t.Observe(busy: true, TimeSpan.Zero);           // a new tracker starts busy: nothing recorded
            t.Observe(busy: false, TimeSpan.FromSeconds(1));
            t.Observe(busy: false, TimeSpan.FromSeconds(2));
            t.Observe(busy: true, TimeSpan.FromSeconds(42)); // the idle period ends: 42 s
            t.Observe(busy: true, TimeSpan.Zero);            // still busy: nothing more
        }

        Assert.Equal(1, adaptive.Histogram!.Count);
        Assert.Equal(TimeSpan.FromSeconds(40), adaptive.Histogram.Lower(0.5));
        Assert.Null(fixedMode.Histogram);
        var limits = new ScalingLimits(0, 10, 1, Fixed, true);
        Assert.Equal(limits, fixedMode.Apply(limits, TimeSpan.FromSeconds(1)));
        Assert.Equal(limits, adaptive.Apply(limits, TimeSpan.FromSeconds(1))); // one sample is not representative: fixed
    }

    [Theory]
    [InlineData(null, KeepAliveMode.Fixed)]
    [InlineData("fixed", KeepAliveMode.Fixed)]
    [InlineData("adaptive", KeepAliveMode.Adaptive)]
    public void The_spec_selects_the_mode(string? keepAlive, KeepAliveMode expected)
    {
        var spec = new FunctionSpec { Scaling = keepAlive is null ? null : new ScalingSpec { KeepAlive = keepAlive } };
        Assert.Equal(expected, FunctionScaling.KeepAlive(spec));
    }

    [Fact]
    public void Histogram_counts_out_of_bounds_apart_and_clamps_negative_idle_times()
    {
        var h = Histogram(-1, 0, 3599.9, 3600, 99_999);
        Assert.Equal(3, h.Count);
        Assert.Equal(2, h.OutOfBounds);
        Assert.Equal(TimeSpan.Zero, h.Lower(0.01));
        Assert.Equal(TimeSpan.FromSeconds(3600), h.Upper(1));
    }
}
