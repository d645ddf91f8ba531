using System.Diagnostics;
using System.Globalization;
using System.Net;
using FnOperator.Benchmarks.DataPlane;
using FnOperator.Benchmarks.Shim;
using FnOperator.RuntimeShim;
using Microsoft.Extensions.Logging;

namespace FnOperator.Benchmarks.NodeRuntime;

/// <summary>
/// The node runtime's own cost per invocation (issue #19): one Runtime API server for every row — the real shim,
/// in-process (<see cref="ShimHost"/> with an in-memory source, one host per runtime, launching its runtime through the
/// sandbox as local mode does) — driving the same no-op handler through our node bootstrap, @vercel/fun 1.3.6's node
/// runtime (its `bootstrap` script and flags, installed by the data-plane benchmark into its npm cache folder) and
/// aws-lambda-ric (tests/node/node_modules, read-only), at 1 and 16 concurrent runtimes (one closed-loop caller per
/// runtime). Reports the node processes' CPU (utime+stime from /proc) per 10,000 invocations, invocations/s, latency
/// (source hand-out → result) and this process's CPU (the 16 in-process shims), with the load average per row.
/// Knobs: FNOP_BENCH_NODE_INVOCATIONS (measured per row, default 10000), FNOP_BENCH_NODE_WARMUP (per runtime, 500),
/// FNOP_BENCH_NODE_RUNTIMES (comma list, default "1,16"), FNOP_BENCH_NODE_ROWS (ours, ours-b, fun, ric),
/// FNOP_BENCH_REPS (rows interleaved per repetition, median reported, default 3), FNOP_BENCH_NODE_BOOTSTRAP_B (a
/// bootstraps directory, e.g. a copy of an older one: adds the row "ours-b" for a paired before/after in one run).
/// FNOP_BENCH_NODE_PERINSTANCE (comma list, default "1"): invocations each runtime runs at once (AWS_LAMBDA_MAX_CONCURRENCY,
/// the shim's MaxConcurrency); with p > 1 every runtime gets p closed-loop callers, so one runtime with p = 16 is
/// perInstance 16 of the data-plane benchmark. FNOP_BENCH_NODE_TRACE=1 gives every invocation an X-Ray trace id (as the
/// gateway does), so the runtime sees Lambda-Runtime-Trace-Id. FNOP_BENCH_NODE_PERF=1 counts the node processes' system
/// calls and context switches per invocation over the measured part (`perf stat`, columns added to the table).
/// </summary>
public sealed class NodeRuntimeBenchmark : IBenchmark
{
    private static readonly int Invocations = EnvInt("FNOP_BENCH_NODE_INVOCATIONS", 10_000, 100, 1_000_000);
    private static readonly int Warmup = EnvInt("FNOP_BENCH_NODE_WARMUP", 500, 0, 100_000);
    private static readonly int Reps = EnvInt("FNOP_BENCH_REPS", 3, 1, 9);

    private static readonly List<int> PerInstance = (Environment.GetEnvironmentVariable("FNOP_BENCH_NODE_PERINSTANCE") ?? "1")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(s => Math.Clamp(int.Parse(s, CultureInfo.InvariantCulture), 1, 64)).ToList();

    public string Name => "node-runtime";

    public string Description => "node runtime CPU per invocation: our bootstrap vs @vercel/fun's vs aws-lambda-ric, one in-process shim per runtime";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var root = Peers.RepositoryRoot();
        await Peers.EnsureInstalledAsync(cancellationToken);
        var taskRoot = Directory.CreateTempSubdirectory("fnop-bench-node-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(taskRoot, "index.js"), Peers.Handler, cancellationToken);
            var rows = Rows(root, taskRoot).ToList();
            var counts = (Environment.GetEnvironmentVariable("FNOP_BENCH_NODE_RUNTIMES") ?? "1,16")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
            var configs = counts.SelectMany(runtimes => PerInstance.Select(p => (Runtimes: runtimes, PerInstance: p))).ToList();
            var results = new Dictionary<(string, (int Runtimes, int PerInstance)), List<Measurement>>();
            var skipped = new List<string>();
            for (var rep = 0; rep < Reps; rep++)
            {
                foreach (var config in configs)
                {
                    foreach (var row in rows)
                    {
                        Console.WriteLine($"   … {row.Key} × {ConfigName(config)} (rep {rep + 1}/{Reps}, load average {ProcTree.LoadAverage()})");
                        try
                        {
                            var m = await MeasureAsync(row, config.Runtimes, config.PerInstance, taskRoot, cancellationToken);
                            (results.TryGetValue((row.Key, config), out var list) ? list : results[(row.Key, config)] = []).Add(m);
                        }
                        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
                        {
                            skipped.Add($"{row.Key} × {ConfigName(config)}: {e.Message}");
                        }
                    }
                }
            }

            var lines = new List<string>
            {
                $"machine: {Environment.ProcessorCount} cores; {Invocations:N0} invocations per row after {Warmup} per runtime of warm-up; one closed-loop caller per runtime; median of {Reps} (rows interleaved)",
                "| runtime | runtimes (× perInstance) | load avg | invocations/s | node CPU s / 10k | shims (this process) CPU s / 10k | p50 ms | p99 ms |" + (CountSyscalls ? " node syscalls / inv | node ctx switches / inv |" : ""),
                "|---|---|---|---|---|---|---|---|" + (CountSyscalls ? "---|---|" : ""),
            };
            foreach (var config in configs)
            {
                foreach (var row in rows)
                {
                    if (!results.TryGetValue((row.Key, config), out var list) || list.Count == 0)
                    {
                        continue;
                    }

                    var median = list.OrderBy(m => m.NodeCpuPer10K).ElementAt(list.Count / 2);
                    lines.Add(string.Create(CultureInfo.InvariantCulture,
                        $"| {row.Label} | {ConfigName(config)} | {median.Load} | {Median(list, m => m.Rps):N0} | {Median(list, m => m.NodeCpuPer10K):0.00} | {Median(list, m => m.SelfCpuPer10K):0.00} | {Median(list, m => m.P50):0.00} | {Median(list, m => m.P99):0.00} |")
                        + (CountSyscalls ? string.Create(CultureInfo.InvariantCulture, $" {Median(list, m => m.SyscallsPerInvocation):0.00} | {Median(list, m => m.SwitchesPerInvocation):0.00} |") : ""));
                }
            }

            lines.Add("all samples (node CPU s / 10k): " + string.Join("; ", results.Select(r =>
                $"{r.Key.Item1}×{ConfigName(r.Key.Item2)} " + string.Join(" ", r.Value.Select(m => m.NodeCpuPer10K.ToString("0.00", CultureInfo.InvariantCulture))))));
            lines.AddRange(skipped.Select(s => "skipped: " + s));
            return lines;
        }
        finally
        {
            Directory.Delete(taskRoot, recursive: true);
        }
    }

    private static string ConfigName((int Runtimes, int PerInstance) config) =>
        config.PerInstance == 1 ? config.Runtimes.ToString(CultureInfo.InvariantCulture) : $"{config.Runtimes} × p{config.PerInstance}";

    private sealed record Row(string Key, string Label, string Runtime, string? Command, string BootstrapDirectory);

    private sealed record Measurement(string Load, double Rps, double NodeCpuPer10K, double SelfCpuPer10K, double P50, double P99)
    {
        public double SyscallsPerInvocation { get; init; } = double.NaN;

        public double SwitchesPerInvocation { get; init; } = double.NaN;
    }

    private static readonly bool CountSyscalls = Environment.GetEnvironmentVariable("FNOP_BENCH_NODE_PERF") == "1";

    private static IEnumerable<Row> Rows(string root, string taskRoot)
    {
        var wanted = Environment.GetEnvironmentVariable("FNOP_BENCH_NODE_ROWS") is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : null;
        var ours = Path.Combine(root, "runtime-shim", "bootstraps");
        var all = new List<Row> { new("ours", "FnOperator node bootstrap", "nodejs22.x", null, ours) };
        if (Environment.GetEnvironmentVariable("FNOP_BENCH_NODE_BOOTSTRAP_B") is { Length: > 0 } b)
        {
            all.Add(new("ours-b", $"FnOperator node bootstrap (B: {b})", "nodejs22.x", null, b));
        }

        // Our bootstrap with extra node flags: FNOP_BENCH_NODE_FLAGS="name=--flag --flag2;name2=…" adds a row "ours+name" each.
        foreach (var variant in (Environment.GetEnvironmentVariable("FNOP_BENCH_NODE_FLAGS") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (name, flags) = (variant[..variant.IndexOf('=', StringComparison.Ordinal)], variant[(variant.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            all.Add(new("ours+" + name, $"FnOperator node bootstrap, node {flags}", "nodejs22.x",
                $"exec node {flags} {Path.Combine(ours, "node", "index.mjs")}", ours));
        }

        // @vercel/fun's node runtime as fun starts it: its `bootstrap` shell script (node with --expose-gc and heap sizes from
        // the memory size, then its bootstrap.js), LAMBDA_RUNTIME_DIR pointing at it.
        var fun = Path.Combine(Peers.NpmFolder, "node_modules", "@vercel", "fun", "dist", "src", "runtimes", "nodejs");
        all.Add(new("fun", "@vercel/fun 1.3.6 node runtime", "provided.al2023",
            $"LAMBDA_RUNTIME_DIR={fun} exec /bin/sh {Path.Combine(fun, "bootstrap")}", ours));
        var ric = Path.Combine(root, "tests", "node", "node_modules", "aws-lambda-ric", "index.mjs");
        if (File.Exists(ric))
        {
            all.Add(new("ric", "aws-lambda-ric (tests/node)", "provided.al2023", $"exec node {ric}", ours));
        }

        return all.Where(r => wanted is null || wanted.Contains(r.Key));
    }

    private static async Task<Measurement> MeasureAsync(Row row, int runtimes, int perInstance, string taskRoot, CancellationToken cancellationToken)
    {
        var hosts = new List<(ShimHost Host, BenchSource Source)>();
        try
        {
            for (var i = 0; i < runtimes; i++)
            {
                var source = new BenchSource("bench-noop", """{"hello":"world","n":1}"""u8.ToArray())
                {
                    TraceIds = Environment.GetEnvironmentVariable("FNOP_BENCH_NODE_TRACE") == "1",
                };
                var options = new ShimOptions
                {
                    FunctionName = "bench-noop",
                    Runtime = row.Runtime,
                    RuntimeCommand = row.Command,
                    Handler = "index.handler",
                    TaskRoot = taskRoot,
                    BootstrapDirectory = row.BootstrapDirectory,
                    TimeoutSeconds = 60,
                    InitTimeoutSeconds = 60,
                    MaxConcurrency = perInstance,
                    RuntimeApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
                    HttpEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
                };
                var host = ShimHost.Create(options, source, LogLevel.Warning, TextWriter.Null);
                hosts.Add((host, source));
                await host.StartAsync(cancellationToken);
            }

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromMinutes(5));
            await Task.WhenAll(hosts.SelectMany(h => Enumerable.Range(0, perInstance).Select(async _ =>
            {
                for (var i = 0; i < Math.Max(1, Warmup / perInstance); i++)
                {
                    await h.Source.InvokeAsync(limit.Token);
                }
            })));

            var perf = CountSyscalls ? StartPerfStat() : null;
            var nodeBefore = NodeCpu();
            var selfBefore = SelfCpu();
            var load = ProcTree.LoadAverage();
            var perCaller = Invocations / (runtimes * perInstance);
            var samples = new double[perCaller * runtimes * perInstance];
            var wall = Stopwatch.StartNew();
            await Task.WhenAll(hosts.SelectMany(h => Enumerable.Range(0, perInstance).Select(_ => h)).Select(async (h, index) =>
            {
                for (var i = 0; i < perCaller; i++)
                {
                    samples[index * perCaller + i] = await h.Source.InvokeAsync(limit.Token);
                }
            }));
            wall.Stop();
            var nodeCpu = NodeCpu() - nodeBefore;
            var selfCpu = SelfCpu() - selfBefore;
            var (syscalls, switches) = perf is null ? (double.NaN, double.NaN) : StopPerfStat(perf);
            Array.Sort(samples);
            double Q(double q) => samples[(int)Math.Min(samples.Length - 1, q * samples.Length)];
            return new Measurement(load, samples.Length / wall.Elapsed.TotalSeconds, nodeCpu / samples.Length * 10_000,
                selfCpu / samples.Length * 10_000, Q(0.5), Q(0.99))
            {
                SyscallsPerInvocation = syscalls / samples.Length,
                SwitchesPerInvocation = switches / samples.Length,
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException("no answer within 5 minutes (did the runtime start?)");
        }
        finally
        {
            foreach (var (host, _) in hosts)
            {
                await host.StopAsync();
                await host.DisposeAsync();
            }
        }
    }

    /// <summary>`perf stat` of every node runtime below this process (system calls, context switches), CSV on stderr.</summary>
    private static Process StartPerfStat()
    {
        var pids = string.Join(',', ProcTree.Sample(Environment.ProcessId).Where(p => p.Name == "node").Select(p => p.Pid.ToString(CultureInfo.InvariantCulture)));
        var info = new ProcessStartInfo("perf") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "stat", "-x", ",", "-e", "raw_syscalls:sys_enter,context-switches", "-p", pids })
        {
            info.ArgumentList.Add(a);
        }

        var perf = Process.Start(info) ?? throw new InvalidOperationException("perf did not start");
        Thread.Sleep(300); // perf attaches
        return perf;
    }

    private static (double Syscalls, double Switches) StopPerfStat(Process perf)
    {
        _ = Kill(perf.Id, 2);
        var text = perf.StandardError.ReadToEnd();
        perf.WaitForExit(30_000);
        double Count(string evt) => text.Split('\n').Select(l => l.Split(',')).Where(f => f.Length > 2 && f[2].Contains(evt, StringComparison.Ordinal))
            .Select(f => double.TryParse(f[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN).DefaultIfEmpty(double.NaN).First();
        return (Count("raw_syscalls:sys_enter"), Count("context-switches"));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    /// <summary>CPU seconds of every `node` process below this one (the runtimes).</summary>
    private static double NodeCpu() => ProcTree.Sample(Environment.ProcessId).Where(p => p.Name == "node").Sum(p => p.CpuSeconds);

    private static double SelfCpu() => ProcTree.Sample(Environment.ProcessId).First(p => p.Pid == Environment.ProcessId).CpuSeconds;

    private static double Median(List<Measurement> list, Func<Measurement, double> value) =>
        list.Select(value).OrderBy(v => v).ElementAt(list.Count / 2);

    private static int EnvInt(string name, int fallback, int min, int max) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? Math.Clamp(v, min, max) : fallback;
}
