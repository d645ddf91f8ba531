using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.EventSources.Tests;
using FnOperator.Operator.Controllers;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>
/// <c>enabled: false</c> end to end: the operator against the API test server and a real nats-server (with its
/// monitoring port). Disabled, the operator holds no connection to the source (nats-server's /connz), so nothing is
/// polled; re-enabled, the stream mapping continues from its checkpoint: the record published meanwhile is delivered,
/// nothing before it again.
/// </summary>
public sealed class EventSourceMappingEnableTests : IAsyncLifetime
{
    private readonly Recorder function = new();
    private readonly HttpClient monitor = new();
    private ServerProcess nats = null!;
    private OperatorHarness harness = null!;

    public async Task InitializeAsync()
    {
        var monitorPort = ServerProcess.FreePort();
        monitor.BaseAddress = new Uri($"http://127.0.0.1:{monitorPort}");
        nats = await ServerProcess.NatsAsync(extraArgs: ["-m", monitorPort.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        harness = await OperatorHarness.StartAsync(services: s => s.AddSingleton<IFunctionInvoker>(function));
    }

    public async Task DisposeAsync()
    {
        await harness.DisposeAsync();
        monitor.Dispose();
        await nats.DisposeAsync();
    }

    [Fact]
    public async Task Disabled_mapping_holds_no_source_connection_and_re_enabled_continues_from_the_checkpoint()
    {
        await PublishAsync(create: true, "a", "b");
        await harness.CreateAsync(TestFunctions.Node("reader"));
        await harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(new EventSourceMapping
        {
            Metadata = new V1ObjectMeta { Name = "events", NamespaceProperty = "default" },
            Spec = new EventSourceMappingSpec
            {
                FunctionName = "reader",
                Source = new EventSource { Stream = new FnOperator.Api.StreamSource { Type = "nats", Url = nats.NatsUrl, StreamName = "EVENTS", StartingPosition = "TRIM_HORIZON" } },
            },
        }, "fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural);
        await Eventually.True(() => function.Bodies.Count == 2, "a and b delivered", 90);

        await SetEnabledAsync(false);
        await WaitAsync(m => m.Status?.State == EventSourceMappingStates.Disabled, "Disabled");
        await Eventually.True(async () => await ConnectionsAsync() == 0, "the poller's source connection closed", 90);
        await PublishAsync(create: false, "c");
        // The publisher's connection closes too (the server notices a moment later); a poller still running would hold one.
        await Eventually.True(async () => await ConnectionsAsync() == 0, "no connection to the source after publishing c", 90);
        Assert.Equal(["a", "b"], function.Bodies); // nobody connected to the source: c was not polled

        await SetEnabledAsync(true);
        await Eventually.True(() => function.Bodies.Count >= 3, "c delivered after re-enabling", 90);
        await WaitAsync(m => m.Status?.State == EventSourceMappingStates.Enabled, "Enabled again");
        Assert.Equal(["a", "b", "c"], function.Bodies); // from the checkpoint: a and b not replayed
        Assert.Equal([1UL, 2UL, 3UL], function.Sequences);
    }

    private async Task PublishAsync(bool create, params string[] bodies)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = nats.NatsUrl });
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await connection.ConnectAsync();
                break;
            }
            catch (NatsException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }

        var js = new NatsJSContext(connection);
        if (create)
        {
            await js.CreateStreamAsync(new StreamConfig("EVENTS", ["events.>"]));
        }

        foreach (var body in bodies)
        {
            (await js.PublishAsync("events.a", Encoding.UTF8.GetBytes(body))).EnsureSuccess();
        }
    }

    /// <summary>Client connections nats-server holds open (its monitoring endpoint); the test's own publisher is closed by then.</summary>
    private async Task<int> ConnectionsAsync()
    {
        using var doc = await monitor.GetFromJsonAsync<JsonDocument>("/connz");
        return doc!.RootElement.GetProperty("num_connections").GetInt32();
    }

    private Task SetEnabledAsync(bool enabled) =>
        harness.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(enabled ? """{"spec":{"enabled":true}}""" : """{"spec":{"enabled":false}}""", V1Patch.PatchType.MergePatch), "fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural, "events");

    private Task WaitAsync(Func<EventSourceMapping, bool> condition, string what) =>
        Eventually.True(async () => KubernetesJson.Deserialize<EventSourceMapping>((JsonElement)await harness.Client.CustomObjects.GetNamespacedCustomObjectAsync("fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural, "events")) is { } m && condition(m), what, 90);


    /// <summary>The function: records each Kinesis-style record's data and sequence number.</summary>
    private sealed class Recorder : IFunctionInvoker
    {
        private readonly ConcurrentQueue<(string Body, ulong Sequence)> records = new();

        public List<string> Bodies => [.. records.Select(r => r.Body)];

        public List<ulong> Sequences => [.. records.Select(r => r.Sequence)];

        public Task<InvokeOutcome> InvokeAsync(string functionName, string? qualifier, ReadOnlyMemory<byte> payload, bool asynchronous, CancellationToken cancellationToken)
        {
            using var doc = JsonDocument.Parse(payload);
            foreach (var r in doc.RootElement.GetProperty("Records").EnumerateArray())
            {
                var k = r.GetProperty("kinesis");
                records.Enqueue((Encoding.UTF8.GetString(Convert.FromBase64String(k.GetProperty("data").GetString()!)), ulong.Parse(k.GetProperty("sequenceNumber").GetString()!, System.Globalization.CultureInfo.InvariantCulture)));
            }

            return Task.FromResult(new InvokeOutcome(200, null, null, "null"u8.ToArray()));
        }
    }
}
