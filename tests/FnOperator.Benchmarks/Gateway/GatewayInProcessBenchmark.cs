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
    private const int SequentialInvocations = 2_000;
    private const int CallerConcurrency = 64;
    private const int Workers = 32;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Name => "gateway-inprocess";

    public string Description =>
        $"gateway overhead alone (in-process echo pull workers, no shim or runtime): {SequentialInvocations} sync invokes from one caller, " +
        $"then {Invocations} from {CallerConcurrency} callers with {Workers} workers";

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

            await RunCallsAsync(callers, 500, CallerConcurrency, cancellationToken).ConfigureAwait(false);

            // One caller at a time: the echo worker does no work, so the round trip is what the gateway adds
            // (invoke → queue → pull → result → response).
            var sequential = await RunCallsAsync(callers, SequentialInvocations, 1, cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            var latencies = await RunCallsAsync(callers, Invocations, CallerConcurrency, cancellationToken).ConfigureAwait(false);
            clock.Stop();
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(workers).ConfigureAwait(false);

            Array.Sort(sequential);
            Array.Sort(latencies);
            var added = Percentile(sequential, 0.50);
            var throughput = Invocations / clock.Elapsed.TotalSeconds;
            return
            [
                $"added latency p50 (one caller): {added:F3} ms (target ≤ 1 ms) {Verdict(added <= 1)}",
                $"added latency p99 (one caller): {Percentile(sequential, 0.99):F3} ms",
                $"throughput ({CallerConcurrency} callers): {throughput:F0} invokes/s (target ≥ 10,000) {Verdict(throughput >= 10_000)}",
                $"latency under load p50/p99/max: {Percentile(latencies, 0.50):F2} / {Percentile(latencies, 0.99):F2} / {latencies[^1]:F2} ms (mostly queueing behind {CallerConcurrency} callers)",
                $"machine: {Environment.ProcessorCount} cores, load average {LoadAverage()} (callers, gateway and workers share them)",
            ];
        }
        finally
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Verdict(bool met) => met ? "OK" : "MISSED";

    internal static async Task<double[]> RunCallsAsync(HttpClient client, int count, int concurrency, CancellationToken cancellationToken)
    {
        var latencies = new double[count];
        var next = -1;
        var callers = Enumerable.Range(0, concurrency).Select(async _ =>
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

    internal static async Task EchoWorkerAsync(HttpClient client, FunctionKey key, CancellationToken ct)
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
                using var post = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(invocation.RequestId)) { Content = JsonContent.Create(result, options: Json) };
                post.Headers.Add(PullProtocol.LeaseTokenHeader, invocation.LeaseToken);
                using var posted = await client.SendAsync(post, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    internal static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
