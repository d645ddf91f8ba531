using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using FnOperator.Benchmarks.DataPlane;
using FnOperator.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FnOperator.Benchmarks.Shim;

/// <summary>
/// The runtime-shim's own CPU per invocation (issue #19): one real shim process (the Native AOT binary of `make shim-aot`
/// and the JIT DLL) serving the project's node bootstrap with a no-op handler, fed by this benchmark's minimal pull server
/// (<see cref="BenchPullServer"/>: `GET next` and the result-then-next `POST result?next=`), 20,000 invocations with 1 and
/// with 4 in flight at the server (4: the shim always has the next invocation waiting, as every shim has at c=16 in the
/// data-plane benchmark). Printed per run: the shim process's CPU seconds per 10,000 invocations and its node child's
/// (utime+stime from /proc/PID/stat, deltas over the measured window), invocations/s, and the load average; medians of
/// <c>FNOP_BENCH_REPS</c> (3) runs, the builds alternating within each repetition.
/// Knobs: <c>FNOP_BENCH_SHIM_INVOCATIONS</c> (20000), <c>FNOP_BENCH_SHIM_INFLIGHT</c> ("1,4"),
/// <c>FNOP_BENCH_SHIMS</c> ("label=path,…": a path ending in .dll runs under `dotnet`; default the JIT DLL and the AOT
/// binary), <c>FNOP_BENCH_SHIM_PERF</c> (a directory: `perf record -g` of the shim process over each measured window).
/// </summary>
public sealed class ShimCpuBenchmark : IBenchmark
{
    private const string Handler = "export const handler = async () => ({});\n";

    public string Name => "shim-cpu";

    public string Description => "runtime-shim process CPU per 10k invocations (node no-op runtime, minimal pull server), AOT and JIT, 1 and 4 in flight";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var reps = Knob("FNOP_BENCH_REPS", 3);
        var invocations = Knob("FNOP_BENCH_SHIM_INVOCATIONS", 20_000);
        var warmup = Math.Max(500, invocations / 10);
        var inFlights = (Environment.GetEnvironmentVariable("FNOP_BENCH_SHIM_INFLIGHT") is { Length: > 0 } list ? list : "1,4")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var builds = Builds();
        var perfDir = Environment.GetEnvironmentVariable("FNOP_BENCH_SHIM_PERF");

        var taskRoot = Directory.CreateTempSubdirectory("fnop-bench-shimcpu-").FullName;
        await File.WriteAllTextAsync(Path.Combine(taskRoot, "app.mjs"), Handler, cancellationToken);
        var lines = new List<string>
        {
            $"machine: {Environment.ProcessorCount} cores; {invocations} invocations per run after {warmup} unmeasured, median of {reps}; node no-op handler; load average at start {ProcTree.LoadAverage()}",
        };
        var runs = new Dictionary<(string Build, int InFlight), List<Run>>();
        try
        {
            for (var rep = 0; rep < reps; rep++)
            {
                foreach (var inFlight in inFlights)
                {
                    foreach (var (label, path) in builds)
                    {
                        var perf = perfDir is { Length: > 0 } ? Path.Combine(perfDir, $"{Slug(label)}-c{inFlight}-r{rep}.data") : null;
                        var run = await RunOnceAsync(path, taskRoot, inFlight, warmup, invocations, perf, cancellationToken);
                        Console.Error.WriteLine($"   … {label}, {inFlight} in flight, rep {rep + 1}: shim {run.ShimCpuPer10k:F2} s / 10k, node {run.NodeCpuPer10k:F2}, {run.PerSecond:F0} inv/s, load {run.Load}{(run.Errors > 0 ? $", {run.Errors} errors" : "")}");
                        (runs.TryGetValue((label, inFlight), out var l) ? l : runs[(label, inFlight)] = []).Add(run);
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(taskRoot, recursive: true);
        }

        lines.Add("| shim build | in flight | shim CPU s / 10k | node CPU s / 10k | invocations/s | errors | load avg (1 min, each run) |");
        lines.Add("|---|---|---|---|---|---|---|");
        foreach (var ((label, inFlight), list2) in runs)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {inFlight} | {Median(list2.Select(r => r.ShimCpuPer10k)):F2} | {Median(list2.Select(r => r.NodeCpuPer10k)):F2} | {Median(list2.Select(r => r.PerSecond)):F0} | {list2.Sum(r => r.Errors)} | {string.Join(" / ", list2.Select(r => r.Load.Split(' ')[0]))} |"));
        }

        lines.Add($"load average at end {ProcTree.LoadAverage()}");
        return lines;
    }

    private sealed record Run(double ShimCpuPer10k, double NodeCpuPer10k, double PerSecond, int Errors, string Load);

    private static async Task<Run> RunOnceAsync(
        string shim, string taskRoot, int inFlight, int warmup, int invocations, string? perfFile, CancellationToken cancellationToken)
    {
        await using var server = await BenchPullServer.StartAsync(cancellationToken);
        var info = shim.EndsWith(".dll", StringComparison.Ordinal) ? new ProcessStartInfo("dotnet") { ArgumentList = { shim } } : new ProcessStartInfo(shim);
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.Environment["AWS_LAMBDA_FUNCTION_NAME"] = "bench";
        info.Environment["FNOP_SOURCE_URL"] = server.BaseUrl;
        info.Environment["FNOP_RUNTIME"] = "nodejs22.x";
        info.Environment["_HANDLER"] = "app.handler";
        info.Environment["LAMBDA_TASK_ROOT"] = taskRoot;
        info.Environment["FNOP_TIMEOUT_SECONDS"] = "30";
        info.Environment["FNOP_RUNTIME_API_ADDRESS"] = "127.0.0.1:0";
        info.Environment["FNOP_HTTP_ADDRESS"] = "127.0.0.1:0";
        info.Environment["FNOP_MEMORY_SOURCE"] = "proc";
        info.Environment["FNOP_LOG_LEVEL"] = "Warning";
        info.Environment.Remove("NODE_EXTRA_CA_CERTS");
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{shim} did not start");
        var stdoutLines = 0L;
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Interlocked.Increment(ref stdoutLines);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (stderr)
                {
                    if (stderr.Length < 8192)
                    {
                        stderr.AppendLine(line);
                    }
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var errors = await server.DriveAsync(warmup, inFlight, cancellationToken);
            var before = ProcTree.Sample(process.Id);
            var load = ProcTree.LoadAverage();
            using var perf = perfFile is null ? null : StartPerf(process.Id, perfFile);
            var wall = Stopwatch.StartNew();
            errors += await server.DriveAsync(invocations, inFlight, cancellationToken);
            wall.Stop();
            var after = ProcTree.Sample(process.Id);
            if (perf is not null)
            {
                StopPerf(perf);
            }

            double Cpu(IReadOnlyList<ProcSample> samples, bool shimItself) =>
                samples.Where(s => (s.Pid == process.Id) == shimItself).Sum(s => s.CpuSeconds);
            var shimCpu = Cpu(after, true) - Cpu(before, true);

            // The runtime is the same node process before and after (a restart would show as errors).
            var nodeCpu = Cpu(after, false) - Cpu(before, false);
            var per10k = 10_000.0 / invocations;
            return new Run(shimCpu * per10k, nodeCpu * per10k, invocations / wall.Elapsed.TotalSeconds, errors, load);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            string text;
            lock (stderr)
            {
                text = stderr.ToString();
            }

            throw new InvalidOperationException($"The shim stopped serving ({shim}); its stderr:\n{text}", e);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    private static Process StartPerf(int pid, string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var info = new ProcessStartInfo("perf") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "record", "-F", "999", "-g", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file })
        {
            info.ArgumentList.Add(a);
        }

        var perf = Process.Start(info) ?? throw new InvalidOperationException("perf did not start");
        perf.BeginErrorReadLine();
        perf.BeginOutputReadLine();
        Thread.Sleep(300); // perf attaches
        return perf;
    }

    private static void StopPerf(Process perf)
    {
        _ = Kill(perf.Id, 2);
        perf.WaitForExit(30_000);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    private static List<(string Label, string Path)> Builds()
    {
        if (Environment.GetEnvironmentVariable("FNOP_BENCH_SHIMS") is { Length: > 0 } spec)
        {
            return spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(entry => entry.Split('=', 2))
                .Select(p => p.Length == 2 ? (p[0], p[1]) : (Path.GetFileName(p[0]), p[0]))
                .ToList();
        }

        var project = Path.Combine(Peers.RepositoryRoot(), "runtime-shim", "FnOperator.RuntimeShim");
        var builds = new List<(string, string)> { ("JIT", Path.Combine(project, "bin", "Release", "net10.0", "FnOperator.RuntimeShim.dll")) };
        var aot = Path.Combine(project, "bin", "aot", "FnOperator.RuntimeShim");
        if (File.Exists(aot))
        {
            builds.Insert(0, ("AOT", aot));
        }

        return builds;
    }

    private static string Slug(string label) => new(label.Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray());

    private static int Knob(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

/// <summary>
/// The gateway's side of the pull protocol, only as much as one shim uses per invocation: `GET next` (long poll) and
/// `POST result?next=N` (records the result, then answers 200 with the next invocation, or an empty body after N ms).
/// </summary>
internal sealed class BenchPullServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly byte[] Payload = """{"hello":"world","n":1}"""u8.ToArray();
    private readonly Channel<Invocation> _queue = Channel.CreateUnbounded<Invocation>();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource<bool>> _pending = new();
    private readonly WebApplication _app;

    private BenchPullServer(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public static async Task<BenchPullServer> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var server = new BenchPullServer(builder.Build());
        server.Map();
        await server._app.StartAsync(cancellationToken);
        server.BaseUrl = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return server;
    }

    /// <summary>Runs <paramref name="count"/> invocations with <paramref name="inFlight"/> outstanding at once; returns how many failed.</summary>
    public async Task<int> DriveAsync(int count, int inFlight, CancellationToken cancellationToken)
    {
        var remaining = count;
        var errors = 0;
        async Task Worker()
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                var invocation = new Invocation
                {
                    RequestId = Guid.NewGuid().ToString(),
                    Namespace = "default",
                    FunctionName = "bench",
                    Version = "$LATEST",
                    InvokedFunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:bench",
                    Type = InvocationType.RequestResponse,
                    Payload = Payload,
                    AcceptedAt = DateTimeOffset.UtcNow,
                    LeaseToken = "lease",
                };
                _pending[invocation.RequestId] = done;
                _queue.Writer.TryWrite(invocation);
                if (!await done.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken))
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Task.Run(Worker, cancellationToken)));
        return errors;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private void Map()
    {
        _app.MapGet(PullProtocol.Prefix + "/functions/{ns}/{name}/versions/{version}/next", async (int? waitMs, HttpContext context) =>
        {
            if (await TakeAsync(waitMs ?? 20_000, context.RequestAborted) is { } invocation)
            {
                await WriteAsync(context, invocation);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        _app.MapPost(PullProtocol.Prefix + "/invocations/{requestId}/result", async (string requestId, HttpContext context) =>
        {
            var result = await JsonSerializer.DeserializeAsync<InvocationResult>(context.Request.Body, Json, context.RequestAborted);
            if (!_pending.TryRemove(requestId, out var done))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            done.TrySetResult(result is { Outcome: InvocationOutcome.Success });
            context.Response.StatusCode = StatusCodes.Status200OK;
            if (context.Request.Query.TryGetValue(PullProtocol.NextAfterResultParameter, out var next)
                && int.TryParse(next, CultureInfo.InvariantCulture, out var nextMs))
            {
                context.Response.ContentType = "application/json";
                await context.Response.StartAsync(context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                if (await TakeAsync(nextMs, context.RequestAborted) is { } invocation)
                {
                    await WriteAsync(context, invocation);
                }
            }
        });
        _app.MapPost(PullProtocol.Prefix + "/invocations/{requestId}/release", (string requestId, HttpContext context) =>
        {
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        });
    }

    private async Task<Invocation?> TakeAsync(int waitMs, CancellationToken aborted)
    {
        if (_queue.Reader.TryRead(out var ready))
        {
            return ready;
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        wait.CancelAfter(waitMs);
        try
        {
            return await _queue.Reader.ReadAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static Task WriteAsync(HttpContext context, Invocation invocation)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(invocation, Json);
        if (!context.Response.HasStarted)
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = body.Length;
        }

        return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}
