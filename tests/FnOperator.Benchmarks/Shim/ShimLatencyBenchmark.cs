using System.Diagnostics;
using System.Globalization;
using System.Net;
using FnOperator.Contracts;
using FnOperator.RuntimeShim;
using Microsoft.Extensions.Logging;

namespace FnOperator.Benchmarks.Shim;

/// <summary>
/// The runtime-shim's added latency per invocation: from the moment the invocation source hands an invocation to the shim
/// until the shim hands the result back, with a no-op runtime. The source is in-process so only the shim is measured;
/// the "runtime" is this benchmark's own HTTP client doing `GET next` / `POST response` on keep-alive connections, then
/// (second scenario) the project's node bootstrap with a no-op handler.
/// </summary>
public sealed class ShimLatencyBenchmark : IBenchmark
{
    private const int Warmup = 300;
    private const int Iterations = 3000;

    public string Name => "shim";

    public string Description => "runtime-shim added latency per invocation (source → next → response → source), no-op handler";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        lines.AddRange(await MeasureAsync("in-process HTTP runtime", useNode: false, cancellationToken));
        lines.AddRange(await MeasureAsync("node bootstrap, no-op handler", useNode: true, cancellationToken));
        return lines;
    }

    private static async Task<IReadOnlyList<string>> MeasureAsync(string label, bool useNode, CancellationToken cancellationToken)
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-bench-shim-").FullName;
        File.WriteAllText(Path.Combine(taskRoot, "app.mjs"), "export const handler = async () => null;\n");
        File.WriteAllText(Path.Combine(taskRoot, "bootstrap"), "#!/bin/sh\nexec sleep 3600\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(taskRoot, "bootstrap"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
        var source = new BenchSource("bench", "{}"u8.ToArray());
        var options = new ShimOptions
        {
            FunctionName = "bench",
            Runtime = useNode ? "nodejs22.x" : "provided.al2023",
            Handler = "app.handler",
            TaskRoot = taskRoot,
            TimeoutSeconds = 60,
            RuntimeApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            HttpEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        };
        await using var host = ShimHost.Create(options, source, LogLevel.Warning, TextWriter.Null);
        await host.StartAsync(cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var runtime = useNode ? Task.CompletedTask : RunHttpRuntimeAsync(host.RuntimeApiAddress, stop.Token);
        try
        {
            for (var i = 0; i < Warmup; i++)
            {
                await source.InvokeAsync(cancellationToken);
            }

            var samples = new double[Iterations];
            var wall = Stopwatch.StartNew();
            for (var i = 0; i < Iterations; i++)
            {
                samples[i] = await source.InvokeAsync(cancellationToken);
            }

            wall.Stop();
            Array.Sort(samples);
            string Ms(double q) => samples[(int)Math.Min(samples.Length - 1, q * samples.Length)].ToString("0.000", CultureInfo.InvariantCulture);
            return
            [
                $"[{label}] added latency p50: {Ms(0.50)} ms (target ≤ 0.5 ms on loopback{(useNode ? ", includes node's own HTTP client" : "")})",
                $"[{label}] added latency p99: {Ms(0.99)} ms",
                $"[{label}] throughput: {(Iterations / wall.Elapsed.TotalSeconds).ToString("0", CultureInfo.InvariantCulture)} invocations/s (one at a time)",
            ];
        }
        finally
        {
            await stop.CancelAsync();
            await host.StopAsync();
            await runtime.ContinueWith(_ => { }, TaskScheduler.Default);
            Directory.Delete(taskRoot, recursive: true);
        }
    }

    /// <summary>A minimal runtime: next, then an empty response, on one keep-alive connection.</summary>
    private static async Task RunHttpRuntimeAsync(string address, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{address}/2018-06-01/runtime/"), Timeout = Timeout.InfiniteTimeSpan };
        while (!cancellationToken.IsCancellationRequested)
        {
            using var next = await http.GetAsync("invocation/next", cancellationToken);
            var id = next.Headers.GetValues("Lambda-Runtime-Aws-Request-Id").First();
            using var response = await http.PostAsync($"invocation/{id}/response", new ByteArrayContent("null"u8.ToArray()), cancellationToken);
        }
    }
}
