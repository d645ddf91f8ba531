using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FnOperator.Contracts;
using FnOperator.EventSources;
using FnOperator.EventSources.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.Benchmarks.EventSources;

/// <summary>
/// Messages/s through a NATS JetStream queue mapping (a real nats-server) to a no-op function behind the Invoke API path
/// over HTTP (an in-process endpoint answering 200 "null"): the poller, batching, SQS event shaping, the Invoke client
/// and the acks. The gateway's and the runtime's own costs are measured by the gateway benchmarks.
/// </summary>
public sealed class NatsQueueMappingBenchmark : IBenchmark
{
    private const int Messages = 5000;

    public string Name => "esm-nats-queue";

    public string Description => $"{Messages} messages through a NATS queue mapping to a no-op function, batch size 1 and 10";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        var dir = Directory.CreateTempSubdirectory("fnop-bench-nats-").FullName;
        var port = FreePort();
        using var nats = Process.Start(new ProcessStartInfo("/usr/sbin/nats-server", ["-js", "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-sd", dir]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        long records = 0;
        app.MapPost(InvokeApi.InvokeRoute, async (HttpRequest request) =>
        {
            using var doc = await System.Text.Json.JsonDocument.ParseAsync(request.Body);
            Interlocked.Add(ref records, doc.RootElement.GetProperty("Records").GetArrayLength());
            return Results.Text("null", "application/json");
        });
        await app.StartAsync(cancellationToken);
        try
        {
            await Task.Delay(500, cancellationToken);
            var url = $"nats://127.0.0.1:{port}";
            await using var client = new NatsConnection(NatsOpts.Default with { Url = url });
            var js = new NatsJSContext(client);
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            var invoker = new InvokeClient(http);
            foreach (var batchSize in new[] { 1, 10 })
            {
                var subject = $"bench{batchSize}";
                await js.CreateStreamAsync(new StreamConfig($"BENCH{batchSize}", [subject]) { Retention = StreamConfigRetention.Workqueue }, cancellationToken);
                for (var i = 0; i < Messages; i++)
                {
                    await js.PublishAsync(subject, Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"), cancellationToken: cancellationToken);
                }

                Interlocked.Exchange(ref records, 0);
                var settings = new PollerSettings { FunctionName = "default/noop", BatchSize = batchSize, MaximumConcurrency = 2 };
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var clock = Stopwatch.StartNew();
                var run = Task.Run(() => new Poller(() => new NatsQueueSource(url, subject, $"bench-{batchSize}", "default", SourceCredentials.None, TimeSpan.FromMinutes(1)),
                    settings, invoker, NullPollerObserver.Instance, TimeProvider.System).RunAsync(cts.Token), cancellationToken);
                while (Interlocked.Read(ref records) < Messages && clock.Elapsed < TimeSpan.FromMinutes(5))
                {
                    await Task.Delay(10, cancellationToken);
                }

                clock.Stop();
                await cts.CancelAsync();
                await run;
                var rate = Interlocked.Read(ref records) / clock.Elapsed.TotalSeconds;
                lines.Add($"batch size {batchSize,2}: {rate:F0} messages/s ({Interlocked.Read(ref records)} in {clock.Elapsed.TotalSeconds:F1} s, maximumConcurrency 2, load {LoadAverage()})");
            }
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            nats.Kill(entireProcessTree: true);
            await nats.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dir, recursive: true);
        }

        return lines;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
