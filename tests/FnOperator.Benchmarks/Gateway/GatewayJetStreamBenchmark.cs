using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FnOperator.Api;
using FnOperator.Gateway;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue.JetStream;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FnOperator.Benchmarks.Gateway;

/// <summary>
/// What the JetStream queue costs: the sync no-op round trip with one caller through the in-memory queue and through
/// JetStream (a nats-server -js started here, file storage in a temp dir), and how many Event invokes per second
/// the gateway accepts (each answered 202 only after JetStream's PubAck).
/// </summary>
public sealed class GatewayJetStreamBenchmark : IBenchmark
{
    private const int SequentialInvocations = 2_000;
    private const int AsyncInvocations = 20_000;
    private const int AsyncCallers = 64;
    private const int Workers = 8;

    public string Name => "gateway-jetstream";

    public string Description =>
        $"JetStream queue vs in-memory: {SequentialInvocations} sync no-op invokes from one caller each, then {AsyncInvocations} Event invokes " +
        $"from {AsyncCallers} callers (accepted/s); nats-server {NatsBinary}";

    private const string NatsBinary = "/usr/sbin/nats-server";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var storage = Directory.CreateTempSubdirectory("fnop-bench-nats-");
        var port = FreePort();
        File.WriteAllText(Path.Combine(storage.FullName, "nats.conf"), "max_payload: 8MB\n");
        using var nats = Process.Start(new ProcessStartInfo(NatsBinary)
        {
            ArgumentList = { "-js", "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-sd", Path.Combine(storage.FullName, "js"), "-c", Path.Combine(storage.FullName, "nats.conf") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("nats-server did not start");
        try
        {
            await WaitForPortAsync(port, cancellationToken).ConfigureAwait(false);
            var jetStream = new JetStreamOptions { Url = $"nats://127.0.0.1:{port}" };
            var (memorySync, memoryAsync) = await MeasureAsync(null, cancellationToken).ConfigureAwait(false);
            var (jsSync, jsAsync) = await MeasureAsync(jetStream, cancellationToken).ConfigureAwait(false);
            var added = GatewayInProcessBenchmark.Percentile(jsSync, 0.50) - GatewayInProcessBenchmark.Percentile(memorySync, 0.50);
            return
            [
                $"sync no-op p50/p99, in-memory queue: {GatewayInProcessBenchmark.Percentile(memorySync, 0.50):F3} / {GatewayInProcessBenchmark.Percentile(memorySync, 0.99):F3} ms",
                $"sync no-op p50/p99, JetStream queue: {GatewayInProcessBenchmark.Percentile(jsSync, 0.50):F3} / {GatewayInProcessBenchmark.Percentile(jsSync, 0.99):F3} ms",
                $"added by JetStream p50: {added:F3} ms (target ≤ 2 ms) {(added <= 2 ? "OK" : "MISSED")}",
                $"accepted Event invokes/s, in-memory: {memoryAsync:F0}",
                $"accepted Event invokes/s, JetStream (202 after PubAck, file storage): {jsAsync:F0} (target ≥ 3,000) {(jsAsync >= 3000 ? "OK" : "MISSED")}",
                $"machine: {Environment.ProcessorCount} cores, load average {GatewayInProcessBenchmark.LoadAverage()} (callers, gateway, workers and nats-server share them)",
            ];
        }
        finally
        {
            nats.Kill(entireProcessTree: true);
            await nats.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            storage.Delete(recursive: true);
        }
    }

    private static async Task<(double[] Sync, double AcceptedPerSecond)> MeasureAsync(JetStreamOptions? jetStream, CancellationToken cancellationToken)
    {
        var app = GatewayApp.Build(new GatewayOptions { Listen = ["127.0.0.1:0"], JetStream = jetStream }, b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var baseAddress = GatewayApp.Addresses(app)[0];
            var registry = app.Services.GetRequiredService<FunctionRegistry>();
            var key = new FunctionKey("default", "echo");
            registry.Upsert(key, new FunctionSpec { Runtime = "provided.al2023", TimeoutSeconds = 30 });
            registry.Upsert(new FunctionKey("default", "sink"), new FunctionSpec { Runtime = "provided.al2023", TimeoutSeconds = 30 });
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var workerClient = new HttpClient { BaseAddress = baseAddress };
            var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(() => GatewayInProcessBenchmark.EchoWorkerAsync(workerClient, key, stop.Token))).ToList();
            using var callers = new HttpClient { BaseAddress = baseAddress };
            await GatewayInProcessBenchmark.RunCallsAsync(callers, 300, 1, cancellationToken).ConfigureAwait(false);
            var sync = await GatewayInProcessBenchmark.RunCallsAsync(callers, SequentialInvocations, 1, cancellationToken).ConfigureAwait(false);
            Array.Sort(sync);
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(workers).ConfigureAwait(false);

            await AcceptAsync(callers, 500, cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            await AcceptAsync(callers, AsyncInvocations, cancellationToken).ConfigureAwait(false);
            return (sync, AsyncInvocations / clock.Elapsed.TotalSeconds);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Event invokes of a function no worker serves (they stay queued): only the accept path is measured.</summary>
    private static async Task AcceptAsync(HttpClient client, int count, CancellationToken cancellationToken)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, AsyncCallers).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/2015-03-31/functions/sink/invocations")
                {
                    Content = new StringContent("""{"e":1}""", Encoding.UTF8, "application/json"),
                };
                request.Headers.Add("X-Amz-Invocation-Type", "Event");
                using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.Accepted)
                {
                    throw new InvalidOperationException($"Event invoke answered {(int)response.StatusCode}");
                }
            }
        })).ConfigureAwait(false);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port, CancellationToken cancellationToken)
    {
        for (var i = 0; ; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (SocketException) when (i < 200)
            {
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
