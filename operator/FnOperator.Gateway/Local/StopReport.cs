using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Local;

/// <summary>The lines local mode prints when it stops: what it waits for, and what the in-memory queue loses.</summary>
internal static class StopReport
{
    /// <summary>"Stopping: waiting for 1 in-flight invocation, up to 35 s; Ctrl-C again to stop now".</summary>
    public static string Waiting(IReadOnlyList<LocalFunction> functions, IReadOnlyList<FunctionPool> pools, IFunctionLoadSource load)
    {
        var inFlight = 0;
        var grace = TimeSpan.Zero;
        for (var i = 0; i < functions.Count; i++)
        {
            var n = load.GetLoad(functions[i].Namespace, functions[i].Name).InFlight;
            if (n > 0)
            {
                inFlight += n;
                grace = grace > pools[i].StopGrace ? grace : pools[i].StopGrace;
            }
        }

        return inFlight == 0
            ? "Stopping: no invocation in flight; stopping the function instances…"
            : $"Stopping: waiting for {inFlight} in-flight invocation{(inFlight == 1 ? "" : "s")}, up to {grace.TotalSeconds:0} s; Ctrl-C again to stop now";
    }

    /// <summary>One line counting the async events still queued (lost with the in-memory queue), or null when none are.</summary>
    public static string? Discarded(IReadOnlyList<LocalFunction> functions, IInvocationQueue queue)
    {
        var counts = functions
            .Select(f => (f.Name, Stats: queue.GetStats(new FunctionKey(f.Namespace, f.Name))))
            .Select(f => (f.Name, Count: Math.Max(0, f.Stats.Depth - f.Stats.WaitingSync)))
            .Where(f => f.Count > 0)
            .ToList();
        var total = counts.Sum(c => c.Count);
        return total == 0
            ? null
            : $"Discarded {total} queued async event{(total == 1 ? "" : "s")} (local mode's queue is in memory): " +
              string.Join(", ", counts.Select(c => $"{c.Name} {c.Count}"));
    }
}
