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
/// Messages/s through a NATS JetStream queue mapping (a real nats-server), at batch size 1 and 10, two ways: to a no-op
/// endpoint on the Invoke API path over HTTP (an in-process endpoint answering 200 "null": the poller, batching, SQS
/// event shaping, the Invoke client and the acks alone), and to a real no-op node function behind local mode's gateway
/// (gateway Invoke API, shim and runtime, 2 warm instances = maximumConcurrency 2) — the figure a user sees.
/// </summary>
public sealed class NatsQueueMappingBenchmark : IBenchmark
{
    private const int Messages = 5000;

    public string Name => "esm-nats-queue";

    public string Description => $"{Messages} messages through a NATS queue mapping to a no-op endpoint and to a no-op node function behind local mode's gateway, batch size 1 and 10";

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
                Interlocked.Exchange(ref records, 0);
                var rate = await PassAsync(js, url, $"bench{batchSize}", batchSize, "default/noop", invoker, () => Task.FromResult(Interlocked.Read(ref records)), cancellationToken);
                lines.Add($"no-op endpoint, batch size {batchSize,2}: {rate}");
            }

            await using var local = await FnOperator.Benchmarks.Gateway.EndToEndLocalMode.StartAsync(warm: 2, cancellationToken);
            using var gatewayHttp = new HttpClient { BaseAddress = new Uri(local.Endpoint), Timeout = TimeSpan.FromMinutes(1) };
            var gateway = new InvokeClient(gatewayHttp);
            foreach (var batchSize in new[] { 1, 10 })
            {
                var stream = $"GW{batchSize}";
                var rate = await PassAsync(js, url, $"gw{batchSize}", batchSize, $"default/{FnOperator.Benchmarks.Gateway.EndToEndLocalMode.FunctionName}", gateway,
                    async () => Messages - (long)(await js.GetStreamAsync(stream, cancellationToken: cancellationToken)).Info.State.Messages, cancellationToken);
                lines.Add($"node function via local mode's gateway, batch size {batchSize,2}: {rate}");
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

    /// <summary>
    /// Publishes the messages to a new work-queue stream, then runs one poller until <paramref name="processed"/> reaches
    /// them all. The rate is the steady state: from the first processed message to the last (the connect, the consumer's
    /// creation and the first fetch are reported apart, as the time to the first message).
    /// </summary>
    private static async Task<string> PassAsync(NatsJSContext js, string url, string subject, int batchSize, string function, IFunctionInvoker invoker, Func<Task<long>> processed, CancellationToken cancellationToken)
    {
        await js.CreateStreamAsync(new StreamConfig(subject.ToUpperInvariant(), [subject]) { Retention = StreamConfigRetention.Workqueue }, cancellationToken);
        for (var i = 0; i < Messages; i++)
        {
            await js.PublishAsync(subject, Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"), cancellationToken: cancellationToken);
        }

        var settings = new PollerSettings { FunctionName = function, BatchSize = batchSize, MaximumConcurrency = 2 };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var total = Stopwatch.StartNew();
        var run = Task.Run(() => new Poller(() => new NatsQueueSource(url, subject, $"bench-{subject}", "default", SourceCredentials.None, TimeSpan.FromMinutes(1)),
            settings, invoker, NullPollerObserver.Instance, TimeProvider.System).RunAsync(cts.Token), cancellationToken);
        long first = 0;
        var firstAt = TimeSpan.Zero;
        long done;
        while ((done = await processed()) < Messages && total.Elapsed < TimeSpan.FromMinutes(5))
        {
            if (first == 0 && done > 0)
            {
                (first, firstAt) = (done, total.Elapsed);
            }

            await Task.Delay(5, cancellationToken);
        }

        var end = total.Elapsed;
        await cts.CancelAsync();
        await run;
        if (done < Messages)
        {
            return $"did not finish in 5 min ({done} of {Messages}, load {LoadAverage()})";
        }

        var steady = end - firstAt;
        return $"{(Messages - first) / steady.TotalSeconds:F0} messages/s ({Messages - first} in {steady.TotalSeconds:F2} s after the first; first message after {firstAt.TotalSeconds:F2} s; maximumConcurrency 2, load {LoadAverage()})";
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
