using System.Diagnostics;
using System.Globalization;
using FnOperator.Benchmarks.Gateway;

namespace FnOperator.Benchmarks.DataPlane;

/// <summary>
/// Issue #19's side-by-side: the same node no-op handler behind a bare node http server (the limit), @vercel/fun,
/// serverless-offline and FnOperator local mode (JIT shim, and the Native AOT shim when published),
/// each alone on the machine, loaded by wrk POSTing small JSON at c = 1, 4, 16, 64. Prints markdown tables: throughput
/// and latency with FnOperator/peer ratios, server CPU seconds per 10,000 invocations, idle CPU after the load, cold
/// start, and RSS of every process. Run with <c>make bench BENCH=dataplane</c>.
/// Knobs: FNOP_BENCH_SECONDS (per run, default 5), FNOP_BENCH_REPS (median of, default 3), FNOP_BENCH_TARGETS
/// (comma list of bare, fun, offline, fnop, fnop-aot, fnop-p16, fnop-aot-p16, fnop-inproc, fnop-inproc-p16; default all
/// that can run), FNOP_BENCH_GATEWAY (auto, jit, r2r, both: the gateway build of the local-mode targets,
/// Gateway/GatewayBuilds.cs; or a path to another FnOperator.Gateway.dll), FNOP_BENCH_AOT_SHIM (another Native AOT
/// shim binary for the -aot targets, for A/B runs against another checkout's build). The -p16 targets run the function with concurrency.perInstance 16 (node: 16 invocations at
/// once in one runtime, docs/concurrency.md); the -inproc targets run local mode with --instances in-process (each
/// instance's shim hosted in the gateway's process, docs/local-mode.md).
/// </summary>
public sealed class DataPlaneBenchmark : IBenchmark
{
    private static readonly int[] Concurrency = [1, 4, 16, 64];
    private const int MaxReplicas = 16;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(EnvInt("FNOP_BENCH_SECONDS", 5, 1, 120));
    private static readonly int Reps = EnvInt("FNOP_BENCH_REPS", 3, 1, 9);
    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(10);

    public string Name => "dataplane";

    public string Description => "bare node vs @vercel/fun vs serverless-offline vs FnOperator local mode, wrk POST at c=1,4,16,64";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var scratch = Directory.CreateTempSubdirectory("fnop-bench-dataplane-").FullName;
        try
        {
            await Peers.EnsureInstalledAsync(cancellationToken);
            await Peers.WriteFilesAsync(scratch, cancellationToken);
            var results = new List<TargetResult>();
            foreach (var (key, start) in Targets(scratch))
            {
                Console.WriteLine($"   … {key} (load average {ProcTree.LoadAverage()})");
                results.Add(await MeasureAsync(key, start, scratch, cancellationToken));
            }

            return Report(results);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static IEnumerable<(string Key, Func<CancellationToken, Task<ServerTarget>> Start)> Targets(string scratch)
    {
        var wanted = Environment.GetEnvironmentVariable("FNOP_BENCH_TARGETS") is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : null;
        var root = Peers.RepositoryRoot();
        var jit = Path.Combine(root, "runtime-shim", "FnOperator.RuntimeShim", "bin", "Release", "net10.0", "FnOperator.RuntimeShim.dll");
        // FNOP_BENCH_AOT_SHIM: another AOT shim binary for the -aot targets (an A/B run against another checkout's build).
        var aot = Environment.GetEnvironmentVariable("FNOP_BENCH_AOT_SHIM") is { Length: > 0 } otherAot
            ? otherAot
            : Path.Combine(root, "runtime-shim", "FnOperator.RuntimeShim", "bin", "aot", "FnOperator.RuntimeShim");
        var all = new List<(string, Func<CancellationToken, Task<ServerTarget>>)>
        {
            ("bare", ct => Peers.BareAsync(scratch, ct)),
            ("fun", ct => Peers.FunAsync(scratch, ct)),
            ("offline", ct => Peers.OfflineAsync(scratch, ct)),
            ("fnop", ct => Peers.LocalModeAsync("FnOperator (JIT shim)", scratch, jit, MaxReplicas, 1, ct)),
            ("fnop-p16", ct => Peers.LocalModeAsync("FnOperator (JIT shim, perInstance 16)", scratch, jit, MaxReplicas, 16, ct)),
            // In-process instances run no shim process; a published AOT shim only lends its `sandbox-exec` step.
            ("fnop-inproc", ct => Peers.LocalModeAsync("FnOperator (in-process instances)", scratch, File.Exists(aot) ? aot : jit, MaxReplicas, 1, ct, "in-process")),
            ("fnop-inproc-p16", ct => Peers.LocalModeAsync("FnOperator (in-process instances, perInstance 16)", scratch, File.Exists(aot) ? aot : jit, MaxReplicas, 16, ct, "in-process")),
        };
        if (File.Exists(aot))
        {
            all.Add(("fnop-aot", ct => Peers.LocalModeAsync("FnOperator (AOT shim)", scratch, aot, MaxReplicas, 1, ct)));
            all.Add(("fnop-aot-p16", ct => Peers.LocalModeAsync("FnOperator (AOT shim, perInstance 16)", scratch, aot, MaxReplicas, 16, ct)));
        }

        // Local-mode targets once per gateway build of FNOP_BENCH_GATEWAY (Gateway/GatewayBuilds.cs; `both`: JIT and ReadyToRun).
        return all.Where(t => wanted is null || wanted.Contains(t.Item1)).SelectMany(t => !t.Item1.StartsWith("fnop", StringComparison.Ordinal) ? [t]
            : GatewayBuilds.Selected().Select(build => (t.Item1, (Func<CancellationToken, Task<ServerTarget>>)(ct => { GatewayBuilds.Current = build; return t.Item2(ct); }))));
    }

    private static async Task<TargetResult> MeasureAsync(string key, Func<CancellationToken, Task<ServerTarget>> start, string scratch, CancellationToken cancellationToken)
    {
        var load = ProcTree.LoadAverage();
        var spawn = Stopwatch.StartNew();
        await using var target = await start(cancellationToken);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var first = Stopwatch.StartNew();
        using (var response = await http.PostAsync(target.Url, new StringContent(Wrk.Body), cancellationToken))
        {
            response.EnsureSuccessStatusCode();
        }

        // Cold start: the first call to a server with no runtime running yet; for the bare server (no pool) it is
        // spawn → first answer, as a new process per instance would pay.
        var cold = key == "bare" ? spawn.Elapsed : first.Elapsed;

        // Scale-up: c = 64 for a few seconds, so pooled targets start their instances before the measured runs.
        await Wrk.RunAsync(target.Url, 64, TimeSpan.FromSeconds(3), scratch, cancellationToken);

        // "After scale-up": the instances started by it finish starting before the measured runs (on 2 loaded cores an
        // instance can take seconds; measured during it, c=1 timed the start-up of 15 shims and runtimes, not dispatch).
        await SettleAsync(target.Pid, cancellationToken);
        var runs = new Dictionary<int, RunResult>();
        foreach (var c in Concurrency)
        {
            var reps = new List<RunResult>();
            for (var i = 0; i < Reps; i++)
            {
                var before = ProcTree.Sample(target.Pid);
                var wrk = await Wrk.RunAsync(target.Url, c, Duration, scratch, cancellationToken);
                var after = ProcTree.Sample(target.Pid);
                var per10k = wrk.Requests == 0 ? 0 : 10_000.0 / wrk.Requests;
                reps.Add(new RunResult(wrk, (after.Sum(p => p.CpuSeconds) - before.Sum(p => p.CpuSeconds)) * per10k, Split(target.Pid, before, after, per10k)));
            }

            runs[c] = reps.OrderBy(r => r.Wrk.Rps).ElementAt(reps.Count / 2);
        }

        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var tree = ProcTree.Sample(target.Pid);
        var idle0 = ProcTree.CpuSeconds([target.Pid]);
        await Task.Delay(IdleWindow, cancellationToken);
        var idleCores = (ProcTree.CpuSeconds([target.Pid]) - idle0) / IdleWindow.TotalSeconds;
        var runtimes = Math.Max(1, tree.Count(p => p.Name is "node" or "MainThread" && p.Pid != target.Pid));
        return new TargetResult(key, target.Name, load, cold, runs, idleCores, runtimes, tree);
    }

    /// <summary>Waits until the target's process tree uses under 0.2 cores over a second (at most 30 s).</summary>
    private static async Task SettleAsync(int pid, CancellationToken cancellationToken)
    {
        var until = Stopwatch.StartNew();
        var before = ProcTree.CpuSeconds([pid]);
        while (until.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            var now = ProcTree.CpuSeconds([pid]);
            if (now - before < 0.2)
            {
                return;
            }

            before = now;
        }
    }

    private static List<string> Report(List<TargetResult> results)
    {
        var lines = new List<string>
        {
            $"machine: {Environment.ProcessorCount} cores, wrk -c C, {Duration.TotalSeconds:0} s per run, median of {Reps}; POST {Wrk.Body}",
            "",
            "| target | load avg | c=1 rps | c=1 p50 ms | c=4 rps | c=16 rps | c=16 p99 ms | c=64 rps | CPU s / 10k (c=16) | errors | cold start ms | idle cores (all / per runtime) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        };
        foreach (var r in results)
        {
            var errors = r.Runs.Values.Sum(x => x.Wrk.Errors);
            lines.Add($"| {r.Name} | {r.Load} | {F0(r.Runs[1].Wrk.Rps)} | {F2(r.Runs[1].Wrk.P50Ms)} | {F0(r.Runs[4].Wrk.Rps)} | {F0(r.Runs[16].Wrk.Rps)} | {F2(r.Runs[16].Wrk.P99Ms)} | {F0(r.Runs[64].Wrk.Rps)} | {F2(r.Runs[16].CpuPer10k)} | {errors} | {F0(r.Cold.TotalMilliseconds)} | {F3(r.IdleCores)} / {F3(r.IdleCores / r.Runtimes)} ({r.Runtimes}) |");
        }

        var peers = results.Where(r => !r.Key.StartsWith("fnop", StringComparison.Ordinal)).ToList();
        foreach (var fnop in results.Where(r => r.Key.StartsWith("fnop", StringComparison.Ordinal)))
        {
            lines.Add("");
            lines.Add($"{fnop.Name} ÷ peer (rps; c=1 p50 as peer ÷ FnOperator, so < 1 is slower):");
            lines.Add("| peer | c=1 p50 | c=1 | c=4 | c=16 | c=64 |");
            lines.Add("|---|---|---|---|---|---|");
            foreach (var peer in peers)
            {
                lines.Add($"| {peer.Name} | {F2(peer.Runs[1].Wrk.P50Ms / fnop.Runs[1].Wrk.P50Ms)} | {string.Join(" | ", Concurrency.Select(c => F3(fnop.Runs[c].Wrk.Rps / peer.Runs[c].Wrk.Rps)))} |");
            }
        }

        lines.Add("");
        lines.Add("RSS after the load (MB, per process name: count × total), and CPU at c=16 by process (\"server\": the target's first process):");
        foreach (var r in results)
        {
            var groups = r.Tree.GroupBy(p => p.Name).Select(g => $"{g.Key} {g.Count()}× {F0(g.Sum(p => p.RssBytes) / 1048576.0)}");
            lines.Add($"- {r.Name}: {string.Join(", ", groups)}; total {F0(r.Tree.Sum(p => p.RssBytes) / 1048576.0)}");
            lines.Add($"  CPU s / 10k at c=16 by process: {string.Join(", ", r.Runs[16].SplitPer10k.OrderByDescending(x => x.Value).Select(x => $"{x.Key} {F2(x.Value)}"))}");
        }

        return lines;
    }

    private static int EnvInt(string name, int fallback, int min, int max) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v >= min && v <= max ? v : fallback;

    private static string F0(double v) => v.ToString("#,0", CultureInfo.InvariantCulture);

    private static string F2(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);

    private static string F3(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);

    private sealed record RunResult(WrkResult Wrk, double CpuPer10k, IReadOnlyDictionary<string, double> SplitPer10k);

    /// <summary>
    /// Where the CPU of one run went, per 10,000 invocations: the target's first process ("server": FnOperator's gateway,
    /// fun's or offline's node) and its descendants by process name (dotnet or FnOperator.Runt: shims; node: runtimes).
    /// </summary>
    private static Dictionary<string, double> Split(int root, IReadOnlyList<ProcSample> before, IReadOnlyList<ProcSample> after, double per10k)
    {
        var start = before.ToDictionary(p => p.Pid, p => p.CpuSeconds);
        return after
            .GroupBy(p => p.Pid == root ? "server" : p.Name)
            .ToDictionary(g => g.Key, g => g.Sum(p => p.CpuSeconds - start.GetValueOrDefault(p.Pid)) * per10k);
    }

    private sealed record TargetResult(
        string Key, string Name, string Load, TimeSpan Cold, Dictionary<int, RunResult> Runs, double IdleCores, int Runtimes, IReadOnlyList<ProcSample> Tree);
}
