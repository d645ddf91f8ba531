using FnOperator.Contracts.Scaling;

namespace FnOperator.Benchmarks.Operator;

/// <summary>
/// Keep-alive simulation: synthetic and bursty invocation traces (7 simulated days each, seeded) replayed in 1 s steps
/// through the project's own policy code — <see cref="KeepAliveTracker"/> and <see cref="ScalingPolicy.Decide"/>,
/// as the cluster autoscaler and local mode call them — for fixed 10 min, fixed scaleToZeroAfterSeconds (300 s, the
/// default) and adaptive (the hybrid histogram policy, falling back to 300 s). Each invocation takes one step; an
/// invocation that finds no idle warm instance is a cold start; idle instance-seconds are instances up and not running
/// an invocation. Pure computation: no timing involved, the figures are deterministic.
/// </summary>
public sealed class KeepAliveSimulationBenchmark : IBenchmark
{
    private const int Days = 7;
    private const int Steps = Days * 86_400;

    public string Name => "keepalive-simulation";

    public string Description => $"cold-start rate and idle instance-seconds over {Days} simulated days per trace: fixed 10 min vs fixed 300 s vs adaptive";

    private sealed record Policy(string Name, int FixedSeconds, KeepAliveMode Mode);

    private static readonly Policy[] Policies =
    [
        new("fixed 10 min", 600, KeepAliveMode.Fixed),
        new("fixed 300 s", 300, KeepAliveMode.Fixed),
        new("adaptive", 300, KeepAliveMode.Adaptive),
    ];

    public Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var traces = new (string Name, Func<Random, int[]> Build)[]
        {
            ("timer every 15 min (±5 s)", r => Periodic(r, 900, 5)),
            ("timer every 4 min (±5 s)", r => Periodic(r, 240, 5)),
            ("Poisson, mean gap 2 min", r => Poisson(r, 120)),
            ("Poisson, mean gap 20 min", r => Poisson(r, 1200)),
            ("bursty: 5-30 calls in 60 s, every 20-90 min", Bursty),
            ("heavy-tailed gaps (Pareto 1.2, ≥ 10 s)", Pareto),
            ("business hours: Poisson 30 s 9-17 h, quiet nights", BusinessHours),
        };
        var lines = new List<string>
        {
            "| trace | invocations | fixed 10 min: cold % / idle inst-h | fixed 300 s: cold % / idle inst-h | adaptive: cold % / idle inst-h |",
            "|---|---|---|---|---|",
        };
        double[] totalCold = new double[Policies.Length], totalIdle = new double[Policies.Length];
        long totalCalls = 0;
        foreach (var (name, build) in traces)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var arrivals = build(new Random(2020));
            var calls = arrivals.Sum();
            totalCalls += calls;
            var cells = new List<string>();
            for (var p = 0; p < Policies.Length; p++)
            {
                var (cold, idleSeconds) = Simulate(arrivals, Policies[p]);
                totalCold[p] += cold;
                totalIdle[p] += idleSeconds;
                cells.Add($"{100.0 * cold / Math.Max(1, calls):F1} % / {idleSeconds / 3600:F1}");
            }

            lines.Add($"| {name} | {calls} | {string.Join(" | ", cells)} |");
        }

        lines.Add($"| all traces | {totalCalls} | {string.Join(" | ", Policies.Select((_, p) => $"{100.0 * totalCold[p] / totalCalls:F1} % / {totalIdle[p] / 3600:F1}"))} |");
        return Task.FromResult<IReadOnlyList<string>>(lines);
    }

    /// <summary>Replays the trace: returns cold starts and idle instance-seconds.</summary>
    private static (long Cold, double IdleSeconds) Simulate(int[] arrivals, Policy policy)
    {
        var limits = ScalingLimits.Create(null, null, 1000, 1, 1, policy.FixedSeconds);
        var tracker = new KeepAliveTracker(policy.Mode);
        var instances = 0;
        var lastBusy = 0;
        long cold = 0;
        double idle = 0;
        for (var t = 0; t < arrivals.Length; t++)
        {
            var demand = arrivals[t];
            if (demand > instances)
            {
                cold += demand - instances; // no warm instance free for these calls
            }

            var idleFor = TimeSpan.FromSeconds(t - lastBusy);
            tracker.Observe(demand > 0, idleFor);
            if (demand > 0)
            {
                lastBusy = t;
                idleFor = TimeSpan.Zero;
            }

            var decision = ScalingPolicy.Decide(new ScalingInput(demand, 0, 0, Math.Max(instances, demand), idleFor), tracker.Apply(limits, idleFor));
            instances = Math.Max(decision.Desired, demand);
            idle += instances - demand;
        }

        return (cold, idle);
    }

    private static int[] Periodic(Random r, int period, int jitter)
    {
        var a = new int[Steps];
        for (var t = period; t < Steps; t += period)
        {
            var at = Math.Clamp(t + r.Next(-jitter, jitter + 1), 0, Steps - 1);
            a[at]++;
        }

        return a;
    }

    private static int[] Poisson(Random r, double meanGap)
    {
        var a = new int[Steps];
        for (var t = 0.0; ;)
        {
            t += -Math.Log(1 - r.NextDouble()) * meanGap;
            if (t >= Steps)
            {
                return a;
            }

            a[(int)t]++;
        }
    }

    private static int[] Bursty(Random r)
    {
        var a = new int[Steps];
        for (var t = r.Next(1200, 5400); t < Steps; t += r.Next(1200, 5400))
        {
            var calls = r.Next(5, 31);
            for (var i = 0; i < calls; i++)
            {
                a[Math.Min(Steps - 1, t + r.Next(0, 60))]++;
            }
        }

        return a;
    }

    private static int[] Pareto(Random r)
    {
        var a = new int[Steps];
        for (var t = 0.0; ;)
        {
            t += Math.Min(6 * 3600, 10 / Math.Pow(1 - r.NextDouble(), 1 / 1.2));
            if (t >= Steps)
            {
                return a;
            }

            a[(int)t]++;
        }
    }

    private static int[] BusinessHours(Random r)
    {
        var a = new int[Steps];
        for (var day = 0; day < Days; day++)
        {
            for (var t = day * 86_400 + (9 * 3600.0); ;)
            {
                t += -Math.Log(1 - r.NextDouble()) * 30;
                if (t >= day * 86_400 + (17 * 3600))
                {
                    break;
                }

                a[(int)t]++;
            }
        }

        return a;
    }
}
