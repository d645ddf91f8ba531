using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
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
/// The runtime-shim's own start (issue #11's lean cold start), the JIT build (`dotnet FnOperator.RuntimeShim.dll`) and the
/// Native AOT binary (`make shim-aot`) side by side: from exec to the shim's first pull at its source, and to the first
/// invocation served through the Runtime API's `GET next` (the runtime is a shell script running curl, so almost all of
/// the time is the shim's), then the shim's own RSS once idle. The source is this benchmark's in-process pull endpoint.
/// </summary>
public sealed class ShimStartBenchmark : IBenchmark
{
    public string Name => "startup-shim";

    public string Description => "runtime-shim exec → first pull / → first invocation through GET next, and idle RSS: JIT build vs Native AOT";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var reps = int.TryParse(Environment.GetEnvironmentVariable("FNOP_BENCH_REPS"), CultureInfo.InvariantCulture, out var r) && r > 0 ? r : 10;
        var root = DataPlane.Peers.RepositoryRoot();
        var project = Path.Combine(root, "runtime-shim", "FnOperator.RuntimeShim");
        var variants = new List<(string Name, string File, string[] Args)>
        {
            ("JIT (dotnet FnOperator.RuntimeShim.dll)", "dotnet", [Path.Combine(project, "bin", "Release", "net10.0", "FnOperator.RuntimeShim.dll")]),
        };
        var aot = Path.Combine(project, "bin", "aot", "FnOperator.RuntimeShim");
        if (File.Exists(aot))
        {
            variants.Add(("Native AOT (bin/aot/FnOperator.RuntimeShim)", aot, []));
        }

        var lines = new List<string>
        {
            $"load average {File.ReadAllText("/proc/loadavg").Trim()}, {reps} starts each (median / max)",
            "| shim | exec → first pull ms | exec → first invocation served (GET next) ms | shim RSS idle MB | shim CPU to first invocation ms |",
            "|---|---|---|---|---|",
        };
        foreach (var (name, file, args) in variants)
        {
            var pulls = new List<double>();
            var served = new List<double>();
            var rss = new List<double>();
            var cpu = new List<double>();
            for (var i = 0; i < reps; i++)
            {
                var one = await StartOnceAsync(file, args, cancellationToken);
                pulls.Add(one.FirstPullMs);
                served.Add(one.ServedMs);
                rss.Add(one.RssMb);
                cpu.Add(one.CpuMs);
            }

            lines.Add($"| {name} | {Median(pulls):F0} / {pulls.Max():F0} | {Median(served):F0} / {served.Max():F0} | {Median(rss):F1} / {rss.Max():F1} | {Median(cpu):F0} / {cpu.Max():F0} |");
        }

        if (!File.Exists(aot))
        {
            lines.Add("(no Native AOT shim: `make shim-aot` publishes it)");
        }

        return lines;
    }

    private sealed record Start(double FirstPullMs, double ServedMs, double RssMb, double CpuMs);

    private static async Task<Start> StartOnceAsync(string file, string[] args, CancellationToken cancellationToken)
    {
        var firstPull = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var result = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handedOut = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapGet(PullProtocol.Prefix + "/functions/{ns}/{name}/versions/{version}/next", async (HttpContext context) =>
        {
            firstPull.TrySetResult(Stopwatch.GetTimestamp());
            if (Interlocked.Exchange(ref handedOut, 1) == 0)
            {
                var invocation = new Invocation
                {
                    RequestId = Guid.NewGuid().ToString(), Namespace = "default", FunctionName = "bench", Version = "$LATEST",
                    InvokedFunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:bench", Type = InvocationType.RequestResponse,
                    Payload = """{"hello":"world"}"""u8.ToArray(), AcceptedAt = DateTimeOffset.UtcNow, LeaseToken = "lease",
                };
                await context.Response.WriteAsJsonAsync(invocation, JsonSerializerOptions.Web, context.RequestAborted);
                return;
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(20), context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }

            context.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapPost(PullProtocol.Prefix + "/invocations/{id}/result", () =>
        {
            result.TrySetResult(Stopwatch.GetTimestamp());
            return Results.Ok();
        });
        await app.StartAsync(cancellationToken);
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        // The runtime: one GET next and one POST response with curl, then it idles (so the shim's RSS is read while idle).
        var api = "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation";
        var script = $"id=$(curl -s -D - -o /dev/null {api}/next | tr -d '\\r' | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: //p'); " +
            $"curl -s -o /dev/null -d '{{}}' {api}/$id/response; exec sleep 300";
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["AWS_LAMBDA_FUNCTION_NAME"] = "bench";
        info.Environment["FNOP_SOURCE_URL"] = url;
        info.Environment["FNOP_RUNTIME_COMMAND"] = script;
        info.Environment["FNOP_RUNTIME_API_ADDRESS"] = "127.0.0.1:0";
        info.Environment["FNOP_HTTP_ADDRESS"] = "127.0.0.1:0";
        info.Environment["FNOP_MEMORY_SOURCE"] = "proc";
        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var pulled = await firstPull.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            var done = await result.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            process.Refresh();
            var cpuMs = process.TotalProcessorTime.TotalMilliseconds;
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            return new Start(
                Stopwatch.GetElapsedTime(started, pulled).TotalMilliseconds,
                Stopwatch.GetElapsedTime(started, done).TotalMilliseconds,
                VmRssMb(process.Id),
                cpuMs);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            await app.StopAsync(CancellationToken.None);
        }
    }

    private static double VmRssMb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
