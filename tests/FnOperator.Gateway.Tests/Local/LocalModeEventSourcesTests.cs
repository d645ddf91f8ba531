using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// EventSourceMappings in local mode (as <c>make run</c> serves them): a poller for a reachable source (a real
/// nats-server) invokes the function with SQS-shaped batches through the local Invoke API; an unreachable source gets
/// a SOURCE UNREACHABLE start line and keeps reconnecting; a schedule fires the Scheduled Event; a mapping for a
/// function that is not served says so. And the repository's examples/event-source-mapping and examples/schedule load
/// in local mode with one clear start line each.
/// </summary>
public sealed class LocalModeEventSourcesTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public async Task Local_mode_polls_reachable_sources_fires_schedules_and_says_which_source_is_unreachable()
    {
        await using var nats = await NatsServer.StartAsync();
        var offline = FreePort(); // nothing listens there
        var received = dir.SharedWritableFolder("received");
        dir.NodeFunction("sink", "sink", $$"""
            environment:
              - name: RECEIVED
                value: "{{received}}"
            """, """
            const fs = require("fs");
            const path = require("path");
            exports.handler = async (event, context) => {
              fs.writeFileSync(path.join(process.env.RECEIVED, context.awsRequestId + ".json"), JSON.stringify(event));
              return null;
            };
            """);
        dir.Write("mappings.yaml", $$$"""
            apiVersion: fnoperator.io/v1alpha1
            kind: EventSourceMapping
            metadata:
              name: orders
            spec:
              functionName: sink
              source:
                queue:
                  type: nats
                  url: {{{nats.Url}}}
                  subject: orders.created
              batchSize: 10
              maximumBatchingWindowInSeconds: 1
              filterCriteria:
                filters:
                  - pattern: '{"body": {"kind": ["order"]}}'
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: EventSourceMapping
            metadata:
              name: offline
            spec:
              functionName: sink
              source:
                queue:
                  type: nats
                  url: nats://127.0.0.1:{{{offline}}}
                  subject: nowhere
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: EventSourceMapping
            metadata:
              name: every-minute
            spec:
              functionName: sink
              source:
                schedule:
                  expression: rate(1 minute)
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: EventSourceMapping
            metadata:
              name: orphan
            spec:
              functionName: not-here
              source:
                schedule:
                  expression: rate(1 hour)
            """);

        await using var local = await LocalModeProcess.StartAsync(dir.Root);
        await local.WaitForLineAsync(l => l.Contains("EventSourceMapping default/orders: polling arn:fnoperator:nats:local:default:queue/orders.created → sink (batch 10)", StringComparison.Ordinal), Wait);
        var unreachable = await local.WaitForLineAsync(l => l.Contains("EventSourceMapping default/offline: SOURCE UNREACHABLE — ", StringComparison.Ordinal), Wait);
        Assert.Contains($"127.0.0.1:{offline}", unreachable, StringComparison.Ordinal);
        Assert.EndsWith("retrying in the background", unreachable.TrimEnd(), StringComparison.Ordinal);
        await local.WaitForLineAsync(l => l.Contains("EventSourceMapping default/every-minute: schedule rate(1 minute) → sink, next ", StringComparison.Ordinal), Wait);
        await local.WaitForLineAsync(l => l.Contains("EventSourceMapping default/orphan: NOT POLLING — function default/not-here is not served here", StringComparison.Ordinal), Wait);

        await using (var client = new NatsConnection(NatsOpts.Default with { Url = nats.Url }))
        {
            var js = new NatsJSContext(client);
            foreach (var body in new[] { """{"kind":"order","id":1}""", """{"kind":"refund","id":2}""", """{"kind":"order","id":3}""" })
            {
                (await js.PublishAsync("orders.created", Encoding.UTF8.GetBytes(body))).EnsureSuccess();
            }
        }

        // The queue batch (filtered: the refund is never delivered) and, within a minute and a bit, the schedule's tick.
        var events = new List<JsonNode>();
        var deadline = DateTime.UtcNow.AddSeconds(150);
        while (true)
        {
            events = [.. Directory.GetFiles(received, "*.json").Select(f => JsonNode.Parse(File.ReadAllText(f))!)];
            if (events.Where(e => e["Records"] is not null).SelectMany(e => e["Records"]!.AsArray()).Count() >= 2 && events.Any(e => (string?)e["detail-type"] == "Scheduled Event"))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the queue batch and the scheduled event\n" + local.Output);
            await Task.Delay(200);
        }

        var records = events.Where(e => e["Records"] is not null).SelectMany(e => e["Records"]!.AsArray()).ToList();
        // The two orders may come in one batch or in two (the window can close between them), and the event files are
        // read in directory order: compare without order. What matters is that the refund was filtered out.
        Assert.Equal(["""{"kind":"order","id":1}""", """{"kind":"order","id":3}"""], records.Select(r => (string?)r!["body"]).Order(StringComparer.Ordinal));
        Assert.All(records, r =>
        {
            Assert.Equal("aws:sqs", (string?)r!["eventSource"]);
            Assert.Equal("arn:fnoperator:nats:local:default:queue/orders.created", (string?)r["eventSourceARN"]);
        });
        var tick = events.First(e => (string?)e["detail-type"] == "Scheduled Event");
        Assert.Equal("aws.events", (string?)tick["source"]);
        Assert.Equal("arn:fnoperator:events:local:default:rule/every-minute", (string?)tick["resources"]![0]);
    }

    [Fact]
    public async Task Examples_event_source_mapping_and_schedule_each_get_a_start_line_in_local_mode()
    {
        // The repository's examples folder, as `make run` serves it. The example sources are on their default ports
        // (4222, 5672): polling when a server runs there, otherwise SOURCE UNREACHABLE and reconnecting.
        await using var local = await LocalModeProcess.StartAsync(Path.Combine(RepoPaths.Root, "examples"));
        var nats = await local.WaitForLineAsync(l => l.Contains("EventSourceMapping default/orders-to-hello-node: ", StringComparison.Ordinal), Wait);
        Assert.True(nats.Contains(": polling arn:fnoperator:nats:local:default:queue/orders.created → hello-node (batch 10)", StringComparison.Ordinal)
            || nats.Contains(": SOURCE UNREACHABLE — ", StringComparison.Ordinal), nats);
        var schedule = await local.WaitForLineAsync(l => l.Contains("EventSourceMapping default/hello-node-every-5-minutes: ", StringComparison.Ordinal), Wait);
        Assert.Contains(": schedule rate(5 minutes) → hello-node, next ", schedule, StringComparison.Ordinal);
        var rabbit = await local.WaitForLineAsync(l => l.Contains("EventSourceMapping default/rabbitmq-orders-to-hello-node: ", StringComparison.Ordinal), Wait);
        Assert.True(rabbit.Contains(": polling arn:fnoperator:rabbitmq:local:default:queue/orders → hello-node", StringComparison.Ordinal)
            || rabbit.Contains(": SOURCE UNREACHABLE — ", StringComparison.Ordinal), rabbit);
        Assert.DoesNotContain(local.Lines(l => l.Contains("EventSourceMapping", StringComparison.Ordinal)), l => l.Contains("NOT POLLING", StringComparison.Ordinal));
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
