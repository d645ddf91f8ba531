using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway;
using FnOperator.Gateway.Functions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FnOperator.Benchmarks.Gateway;

/// <summary>
/// Gateway overhead alone: sync invocations through the real HTTP Invoke API and the pull protocol, answered by
/// in-process echo workers that do no work (no runtime-shim, no runtime). Reports invokes/s and latency percentiles.
/// </summary>
public sealed class GatewayInProcessBenchmark : IBenchmark
{
    private const int Invocations = 20_000;
    private const int CallerConcurrency = 64;
    private const int Workers = 32;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Name => "gateway-inprocess";

    public string Description => $"{Invocations} sync invokes, {CallerConcurrency} callers, {Workers} in-process echo pull workers (gateway overhead alone)";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var app = GatewayApp.Build(new GatewayOptions { Listen = ["127.0.0.1:0"] }, b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var baseAddress = GatewayApp.Addresses(app)[0];
            var key = new FunctionKey("default", "echo");
            app.Services.GetRequiredService<FunctionRegistry>().Upsert(key, new FunctionSpec { Runtime = "provided.al2023", TimeoutSeconds = 30 });
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var workerClient = new HttpClient { BaseAddress = baseAddress };
            var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(() => EchoWorkerAsync(workerClient, key, stop.Token))).ToList();
            using var callers = new HttpClient { BaseAddress = baseAddress };

            await RunCallsAsync(callers, 500, cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            var latencies = await RunCallsAsync(callers, Invocations, cancellationToken).ConfigureAwait(false);
            clock.Stop();
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(workers).ConfigureAwait(false);

            Array.Sort(latencies);
            return
            [
                $"throughput: {Invocations / clock.Elapsed.TotalSeconds:F0} invokes/s (target: >= 2000 invokes/s on 2 cores)",
                $"latency p50: {Percentile(latencies, 0.50):F2} ms (target: <= 10 ms)",
                $"latency p99: {Percentile(latencies, 0.99):F2} ms (target: <= 50 ms)",
                $"latency max: {latencies[^1]:F2} ms",
                $"machine: {Environment.ProcessorCount} cores, load average {LoadAverage()} (targets assume an otherwise idle machine)",
            ];
        }
        finally
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<double[]> RunCallsAsync(HttpClient client, int count, CancellationToken cancellationToken)
    {
        var latencies = new double[count];
        var next = -1;
        var callers = Enumerable.Range(0, CallerConcurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                using var content = new StringContent($$"""{"i":{{i}}}""", Encoding.UTF8, "application/json");
                using var response = await client.PostAsync("/2015-03-31/functions/echo/invocations", content, cancellationToken).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.OK || body != $$"""{"i":{{i}}}""")
                {
                    throw new InvalidOperationException($"Invocation {i} answered {(int)response.StatusCode}: {body}");
                }

                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        });
        await Task.WhenAll(callers).ConfigureAwait(false);
        return latencies;
    }

    private static async Task EchoWorkerAsync(HttpClient client, FunctionKey key, CancellationToken ct)
    {
        var next = PullProtocol.NextPath(key.Namespace, key.Name, FunctionRegistry.Latest) + "?waitMs=1000";
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var response = await client.GetAsync(next, ct).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    continue;
                }

                var invocation = (await response.Content.ReadFromJsonAsync<Invocation>(Json, ct).ConfigureAwait(false))!;
                var result = new InvocationResult
                {
                    RequestId = invocation.RequestId,
                    Outcome = InvocationOutcome.Success,
                    Payload = invocation.Payload,
                    ExecutedVersion = invocation.Version,
                };
                using var posted = await client.PostAsJsonAsync(PullProtocol.ResultPath(invocation.RequestId), result, Json, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
