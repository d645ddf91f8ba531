using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Threading.Channels;
using FnOperator.Contracts;
using FnOperator.RuntimeShim;
using Microsoft.Extensions.Logging;

namespace FnOperator.Benchmarks.Gateway;

/// <summary>
/// Invokes through the whole local stack — HTTP client → gateway (Invoke API, queue, pull protocol) → runtime-shim →
/// node runtime with a no-op handler — and compares with the shim alone (an in-process source feeding the same shim
/// and handler), so the difference is what the gateway adds. Run with <c>make bench BENCH=gateway-e2e</c>.
/// </summary>
public sealed class EndToEndBenchmark : IBenchmark
{
    /// <summary>Warm runtimes for the load phase: $FNOP_BENCH_WARM, default 4 (this project's machines have 2 cores).</summary>
    private static readonly int Warm = int.TryParse(Environment.GetEnvironmentVariable("FNOP_BENCH_WARM"), out var warm) && warm is > 0 and <= 256 ? warm : 4;
    private const int Sequential = 1500;
    private const int Warmup = 300;
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(15);

    public string Name => "gateway-e2e";

    public string Description => "invokes/s and p50/p99 through gateway+shim (no-op node function) vs the shim alone";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var shimAlone = await ShimAloneAsync(cancellationToken);
        await using var local = await EndToEndLocalMode.StartAsync(Warm, cancellationToken);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, UseProxy = false })
        {
            BaseAddress = new Uri(local.Endpoint),
            Timeout = TimeSpan.FromSeconds(60),
        };
        for (var i = 0; i < Warmup; i++)
        {
            await InvokeAsync(http, cancellationToken);
        }

        var one = new double[Sequential];
        for (var i = 0; i < one.Length; i++)
        {
            one[i] = await InvokeAsync(http, cancellationToken);
        }

        Array.Sort(one);
        var (rate, loaded) = await LoadAsync(http, Warm * 4, cancellationToken);
        return
        [
            $"shim alone, one at a time: p50 {Ms(shimAlone, 0.50)} ms, p99 {Ms(shimAlone, 0.99)} ms",
            $"gateway+shim, one at a time: p50 {Ms(one, 0.50)} ms, p99 {Ms(one, 0.99)} ms",
            $"added by the gateway (p50 difference): {(Percentile(one, 0.50) - Percentile(shimAlone, 0.50)).ToString("0.000", CultureInfo.InvariantCulture)} ms (target ≤ 1 ms)",
            $"gateway+shim under load ({Warm} warm runtimes, {Warm * 4} concurrent clients, {LoadDuration.TotalSeconds:0} s): {rate.ToString("0", CultureInfo.InvariantCulture)} invokes/s (target ≥ 10,000 with enough warm runtimes), p50 {Ms(loaded, 0.50)} ms, p99 {Ms(loaded, 0.99)} ms",
            $"machine: {Environment.ProcessorCount} cores; client, gateway, shims and node runtimes share them",
        ];
    }

    private static async Task<double> InvokeAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        using var response = await http.PostAsync($"/2015-03-31/functions/{EndToEndLocalMode.FunctionName}/invocations", new ByteArrayContent("{}"u8.ToArray()), cancellationToken);
        await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK || response.Headers.Contains("X-Amz-Function-Error"))
        {
            throw new InvalidOperationException($"benchmark invoke failed: {(int)response.StatusCode}");
        }

        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static async Task<(double Rate, double[] Latencies)> LoadAsync(HttpClient http, int clients, CancellationToken cancellationToken)
    {
        var samples = new List<double>[clients];
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
        {
            samples[c] = [];
            while (wall.Elapsed < LoadDuration)
            {
                samples[c].Add(await InvokeAsync(http, cancellationToken));
            }
        }));
        wall.Stop();
        var all = samples.SelectMany(s => s).ToArray();
        Array.Sort(all);
        return (all.Length / wall.Elapsed.TotalSeconds, all);
    }

    /// <summary>The same no-op node handler behind the same shim, fed by an in-process source: no gateway, no HTTP client.</summary>
    private static async Task<double[]> ShimAloneAsync(CancellationToken cancellationToken)
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-bench-e2e-shim-").FullName;
        await File.WriteAllTextAsync(Path.Combine(taskRoot, "index.js"), "exports.handler = async () => ({});\n", cancellationToken);
        var source = new DirectSource();
        var options = new ShimOptions
        {
            FunctionName = EndToEndLocalMode.FunctionName,
            Runtime = "nodejs22.x",
            Handler = "index.handler",
            TaskRoot = taskRoot,
            TimeoutSeconds = 30,
            RuntimeApiEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            HttpEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
        };
        try
        {
            await using var host = ShimHost.Create(options, source, LogLevel.Warning, TextWriter.Null);
            await host.StartAsync(cancellationToken);
            for (var i = 0; i < Warmup; i++)
            {
                await source.InvokeAsync(cancellationToken);
            }

            var samples = new double[Sequential];
            for (var i = 0; i < samples.Length; i++)
            {
                samples[i] = await source.InvokeAsync(cancellationToken);
            }

            await host.StopAsync();
            Array.Sort(samples);
            return samples;
        }
        finally
        {
            Directory.Delete(taskRoot, recursive: true);
        }
    }

    private static double Percentile(double[] sorted, double q) => sorted[(int)Math.Min(sorted.Length - 1, q * sorted.Length)];

    private static string Ms(double[] sorted, double q) => Percentile(sorted, q).ToString("0.000", CultureInfo.InvariantCulture);

    /// <summary>Measures from enqueue to result, as a caller of the queue would see it.</summary>
    private sealed class DirectSource : IInvocationSource
    {
        private readonly Channel<(Invocation Invocation, TaskCompletionSource<InvocationResult> Done)> queue =
            Channel.CreateUnbounded<(Invocation, TaskCompletionSource<InvocationResult>)>();

        private readonly Dictionary<string, TaskCompletionSource<InvocationResult>> inFlight = [];
        private readonly Lock gate = new();

        public async Task<double> InvokeAsync(CancellationToken cancellationToken)
        {
            var start = Stopwatch.GetTimestamp();
            var done = new TaskCompletionSource<InvocationResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var invocation = new Invocation
            {
                RequestId = Guid.NewGuid().ToString(),
                Namespace = "default",
                FunctionName = EndToEndLocalMode.FunctionName,
                Version = "$LATEST",
                InvokedFunctionArn = $"arn:aws:lambda:us-east-1:000000000000:function:{EndToEndLocalMode.FunctionName}",
                Type = InvocationType.RequestResponse,
                Payload = "{}"u8.ToArray(),
                AcceptedAt = DateTimeOffset.UtcNow,
            };
            await queue.Writer.WriteAsync((invocation, done), cancellationToken);
            var result = await done.Task.WaitAsync(cancellationToken);
            if (result.Outcome != InvocationOutcome.Success)
            {
                throw new InvalidOperationException($"benchmark invocation failed: {result.ErrorType}");
            }

            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        public async ValueTask<Invocation?> NextAsync(CancellationToken cancellationToken)
        {
            var (invocation, done) = await queue.Reader.ReadAsync(cancellationToken);
            lock (gate)
            {
                inFlight[invocation.RequestId] = done;
            }

            return invocation;
        }

        public ValueTask CompleteAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken)
        {
            TaskCompletionSource<InvocationResult>? done;
            lock (gate)
            {
                inFlight.Remove(invocation.RequestId, out done);
            }

            done?.TrySetResult(result);
            return ValueTask.CompletedTask;
        }

        public ValueTask ReleaseAsync(Invocation invocation, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
