using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FnOperator.Benchmarks.DataPlane;

namespace FnOperator.Benchmarks.Gateway;

/// <summary>
/// End-to-end cold start in local mode (issues #11/#19): a sync Invoke of a node no-op function whose pool is at zero,
/// from the caller's POST to its response, over <see cref="Reps"/> cold starts per instance kind (local mode's default
/// in-process instance, and shim processes of the JIT DLL and the Native AOT binary of `make shim-aot`, side by side), with the gateway's own "Cold start … waitedMs=" figure (enqueued at zero
/// → invocation started) and, as the reference, a bare `node` spawn that loads the same handler and runs it once.
/// One local mode per row, with `--idle-seconds` short so the pool goes back to zero between calls; each call waits
/// until local mode has no process below it, so every measured call starts a new runtime (and shim process, if any).
/// The first call after local mode started (the gateway's own first request) is reported apart and not counted, with
/// local mode's start → ready (process start → its "Lambda Invoke API on" line) and the gateway's own CPU for both.
/// FNOP_BENCH_GATEWAY (Gateway/GatewayBuilds.cs: auto, jit, r2r, both) picks the gateway build of each row.
/// </summary>
public sealed partial class LocalColdStartBenchmark : IBenchmark
{
    private const string FunctionName = "bench-cold";
    private const string Handler = "exports.handler = async () => ({});\n";

    public string Name => "coldstart-local";

    public string Description => "local mode: sync Invoke of a node no-op at zero instances → response, p50/p99 over 20 cold starts: in-process instance (the default) and shim processes, JIT vs Native AOT";

    private static readonly List<string> Samples = [];

    /// <summary>FNOP_BENCH_COLD_TARGETS: comma-separated subset of bare, inproc, jit, aot (default all).</summary>
    private static bool Wanted(string key) =>
        Environment.GetEnvironmentVariable("FNOP_BENCH_COLD_TARGETS") is not { Length: > 0 } list || list.Split(',').Contains(key, StringComparer.OrdinalIgnoreCase);

    private static int Reps => int.TryParse(Environment.GetEnvironmentVariable("FNOP_BENCH_COLD_REPS"), out var n) && n > 0 ? n : 20;

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var root = RepositoryRoot();
        var project = Path.Combine(root, "runtime-shim", "FnOperator.RuntimeShim");
        var jit = Path.Combine(project, "bin", "Release", "net10.0", "FnOperator.RuntimeShim.dll");
        var aot = Path.Combine(project, "bin", "aot", "FnOperator.RuntimeShim");
        var variants = new List<(string Name, string Shim, string Mode)>();

        // Local mode's default: the Runtime API served inside the gateway, no shim process to start (the shim binary
        // given is only the keeper the runtime runs under as root: the AOT one when it is built, as `make run` picks).
        if (Wanted("inproc"))
        {
            variants.Add(("in-process instance (default; no shim process)", File.Exists(aot) ? aot : jit, "in-process"));
        }

        if (Wanted("jit"))
        {
            variants.Add(("shim process, JIT (FnOperator.RuntimeShim.dll)", jit, "process"));
        }

        if (File.Exists(aot) && Wanted("aot"))
        {
            variants.Add(("shim process, Native AOT (bin/aot)", aot, "process"));
        }

        // A second shim binary to compare with, in the same run (e.g. the previous build's AOT shim).
        if (Environment.GetEnvironmentVariable("FNOP_BENCH_COLD_SHIM_B") is { Length: > 0 } other && File.Exists(other))
        {
            variants.Add(($"shim process, other ({other})", other, "process"));
        }

        var scratch = Directory.CreateTempSubdirectory("fnop-bench-cold-").FullName;
        var lines = new List<string>
        {
            $"{Reps} cold starts per row after one unmeasured first call; p50 / p99 / min / max ms; load average printed per row",
            "| target | load avg (before → after) | enqueue → response p50 | p99 | min | max | gateway: enqueued at zero → started p50 | first call after start | start → ready | gateway CPU ms: start → ready / first call |",
            "|---|---|---|---|---|---|---|---|---|---|",
        };
        try
        {
            Directory.CreateDirectory(Path.Combine(scratch, "src"));
            await File.WriteAllTextAsync(Path.Combine(scratch, "src", "index.js"), Handler, cancellationToken);
            if (Wanted("bare"))
            {
                lines.Add(await BareNodeAsync(scratch, cleanEnvironment: true, cancellationToken));
            }

            if (Wanted("bare") && Environment.GetEnvironmentVariable("NODE_EXTRA_CA_CERTS") is { Length: > 0 })
            {
                lines.Add(await BareNodeAsync(scratch, cleanEnvironment: false, cancellationToken));
            }
            foreach (var (name, shim, mode) in variants)
            {
                // Once per gateway build of FNOP_BENCH_GATEWAY (GatewayBuilds: the one `make run` runs, or jit/r2r/both).
                foreach (var build in GatewayBuilds.Selected())
                {
                    GatewayBuilds.Current = build;
                    lines.Add(await LocalModeAsync(scratch, GatewayBuilds.Name(name), shim, mode, cancellationToken));
                }
            }

            lines.Add("samples, sorted:");
            lines.AddRange(Samples.Select(line => "  " + line));
            if (!File.Exists(aot))
            {
                lines.Add("(no Native AOT shim: `make shim-aot` publishes it)");
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }

        return lines;
    }

    /// <summary>
    /// The reference: spawn node, load the handler, run it once, exit. With <paramref name="cleanEnvironment"/> node gets
    /// only PATH, as the shim's runtime gets no variable of the host beyond its documented list; without it node inherits
    /// this process's environment (where NODE_EXTRA_CA_CERTS, set on this machine, makes node read and parse that CA
    /// bundle at every start: tens of milliseconds).
    /// </summary>
    private static async Task<string> BareNodeAsync(string scratch, bool cleanEnvironment, CancellationToken cancellationToken)
    {
        var load = ProcTree.LoadAverage();
        var script = "require(process.argv[1]).handler({}, {}).then((r) => { process.stdout.write(JSON.stringify(r)); });";
        var samples = new List<double>();
        for (var i = 0; i <= Reps; i++)
        {
            var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, UseShellExecute = false };
            if (cleanEnvironment)
            {
                var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
                info.Environment.Clear();
                info.Environment["PATH"] = path;
            }

            foreach (var arg in new[] { "-e", script, Path.Combine(scratch, "src", "index.js") })
            {
                info.ArgumentList.Add(arg);
            }

            var clock = Stopwatch.StartNew();
            using var node = Process.Start(info) ?? throw new InvalidOperationException("node did not start");
            var output = await node.StandardOutput.ReadToEndAsync(cancellationToken);
            await node.WaitForExitAsync(cancellationToken);
            if (output != "{}")
            {
                throw new InvalidOperationException($"bare node printed '{output}'");
            }

            if (i > 0)
            {
                samples.Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        var name = cleanEnvironment
            ? "bare `node` spawn + run once (reference; PATH only, as the runtime's environment)"
            : "bare `node` spawn + run once (inherited environment, NODE_EXTRA_CA_CERTS set)";
        return Row(name, load, samples, [], null);
    }

    private static async Task<string> LocalModeAsync(string scratch, string name, string shim, string mode, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(scratch, "fn-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(folder, "src"));
        await File.WriteAllTextAsync(Path.Combine(folder, "src", "index.js"), Handler, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(folder, "function.yaml"), $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: {FunctionName}
            spec:
              runtime: nodejs22.x
              handler: index.handler
              code:
                path: src
              timeoutSeconds: 30
              scaling:
                maxReplicas: 1
            """, cancellationToken);
        var started = Stopwatch.StartNew();
        await using var local = LocalProcess.Start(GatewayBuilds.Current.Dll, folder, shim, mode);
        var endpoint = await local.Endpoint.WaitAsync(TimeSpan.FromMinutes(3), cancellationToken);
        var ready = started.Elapsed.TotalMilliseconds;
        var cpuReady = local.CpuMilliseconds();
        double? cpuFirst = null;
        var url = $"{endpoint}/2015-03-31/functions/{FunctionName}/invocations";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var load = ProcTree.LoadAverage();
        var samples = new List<double>();
        var waited = new List<double>();
        double? first = null;
        for (var i = 0; i <= Reps; i++)
        {
            await local.WaitForZeroAsync(cancellationToken);
            var waitedBefore = local.ColdStartWaits.Count;
            var clock = Stopwatch.StartNew();
            using var response = await http.PostAsync(url, new StringContent("""{"hello":"cold"}""", Encoding.UTF8, "application/json"), cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var elapsed = clock.Elapsed.TotalMilliseconds;
            if (!response.IsSuccessStatusCode || body != "{}" || response.Headers.Contains("X-Amz-Function-Error"))
            {
                throw new InvalidOperationException($"{name}: invoke answered {(int)response.StatusCode} '{body}'; local mode said:\n{local.Output}");
            }

            if (i == 0)
            {
                first = elapsed;
                cpuFirst = local.CpuMilliseconds() - cpuReady;
                continue;
            }

            samples.Add(elapsed);

            // The gateway's line for this invocation (it may be printed just after the response).
            var deadline = Stopwatch.StartNew();
            while (local.ColdStartWaits.Count <= waitedBefore && deadline.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(20, cancellationToken);
            }

            if (local.ColdStartWaits.Count > waitedBefore)
            {
                waited.Add(local.ColdStartWaits.Last());
            }
        }

        return Row(name, $"{load} → {ProcTree.LoadAverage()}", samples, waited, first, ready, $"{cpuReady:0} / {cpuFirst:0}");
    }

    /// <param name="ready">Local mode's start → ready: process start to its "Lambda Invoke API on" line (printed once it listens).</param>
    /// <param name="cpu">The gateway process's own CPU (utime + stime, not its children's) to ready and over the first call.</param>
    private static string Row(string name, string load, List<double> samples, List<double> waited, double? first, double? ready = null, string cpu = "—")
    {
        samples.Sort();
        Samples.Add($"{name}: {string.Join(' ', samples.Select(v => v.ToString("0", CultureInfo.InvariantCulture)))} ms" + (waited.Count == 0 ? "" : $"; gateway waits {string.Join(' ', waited.Order().Select(v => v.ToString("0", CultureInfo.InvariantCulture)))} ms"));
        var waitedText = waited.Count == 0 ? "—" : $"{Percentile(waited, 0.5):0} ({waited.Count} logged)";
        return $"| {name} | {load} | {Percentile(samples, 0.5):0} | {Percentile(samples, 0.99):0} | {samples[0]:0} | {samples[^1]:0} | {waitedText} | {(first is { } f ? f.ToString("0", CultureInfo.InvariantCulture) : "—")} | {(ready is { } r ? r.ToString("0", CultureInfo.InvariantCulture) : "—")} | {cpu} |";
    }

    /// <summary>Nearest-rank percentile.</summary>
    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FnOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("FnOperator.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Local mode with a short idle window, its output read for the endpoint, instance pids and cold-start lines.</summary>
    private sealed partial class LocalProcess : IAsyncDisposable
    {
        private readonly Process process;
        private readonly TaskCompletionSource<string> endpoint = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly StringBuilder output = new();

        private LocalProcess(Process process) => this.process = process;

        public Task<string> Endpoint => endpoint.Task;

        /// <summary>The gateway process's own CPU so far (utime + stime from /proc; 10 ms ticks), in milliseconds.</summary>
        public double CpuMilliseconds()
        {
            var fields = File.ReadAllText($"/proc/{process.Id}/stat").Split(')')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
        }

        public List<double> ColdStartWaits { get; } = [];

        public string Output { get { lock (output) { return output.ToString(); } } }

        public static LocalProcess Start(string gateway, string folder, string shim, string mode)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (var arg in new[] { gateway, "local", "--functions", folder, "--listen", "127.0.0.1:0", "--shim", shim, "--idle-seconds", "0.3", "--instances", mode })
            {
                info.ArgumentList.Add(arg);
            }

            var local = new LocalProcess(new Process { StartInfo = info });
            local.process.OutputDataReceived += (_, e) => local.OnLine(e.Data);
            local.process.ErrorDataReceived += (_, e) => local.OnLine(e.Data);
            local.process.Start();
            local.process.BeginOutputReadLine();
            local.process.BeginErrorReadLine();
            return local;
        }

        /// <summary>
        /// Waits until local mode has no process below it (no shim process, keeper or runtime: in either instance mode
        /// the pool is at zero and the next call is a cold start), plus the gateway's 2 s presence grace
        /// (ColdStartTracker.Grace) so it counts and logs the next call as one.
        /// </summary>
        public async Task WaitForZeroAsync(CancellationToken cancellationToken)
        {
            var deadline = Stopwatch.StartNew();
            while (ProcTree.Sample(process.Id).Count > 1)
            {
                if (deadline.Elapsed > TimeSpan.FromMinutes(1))
                {
                    throw new InvalidOperationException($"local mode did not scale to zero within 1 min; output:\n{Output}");
                }

                await Task.Delay(50, cancellationToken);
            }

            await Task.Delay(TimeSpan.FromSeconds(2.2), cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
                {
                    await term.WaitForExitAsync();
                }

                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                try
                {
                    await process.WaitForExitAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                }
            }

            process.Dispose();
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                if (output.Length < 64 * 1024)
                {
                    output.AppendLine(line);
                }
            }

            if (EndpointLine().Match(line) is { Success: true } e)
            {
                endpoint.TrySetResult(e.Groups[1].Value);
            }
            else if (ColdStartLine().Match(line) is { Success: true } c)
            {
                lock (ColdStartWaits)
                {
                    ColdStartWaits.Add(double.Parse(c.Groups[1].Value, CultureInfo.InvariantCulture));
                }
            }
        }

        [GeneratedRegex(@"Lambda Invoke API on (http://[0-9.]+:[0-9]+)")]
        private static partial Regex EndpointLine();

        [GeneratedRegex(@"Cold start function=\S+ version=\S+ waitedMs=([0-9.]+)")]
        private static partial Regex ColdStartLine();
    }
}
