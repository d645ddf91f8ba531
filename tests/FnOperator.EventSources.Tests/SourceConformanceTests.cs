using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.EventSources.Sources;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace FnOperator.EventSources.Tests;

/// <summary>
/// The same Lambda batching and filtering rules, run against every source with its real server: batching by size, by
/// window and before 6 MB; every filter operator (exact, prefix, suffix, anything-but, numeric range, exists,
/// equals-ignore-case, <c>$or</c>) on JSON and plain payloads in one batch where only some records match — the rest is
/// acknowledged (queues: deleted; streams: the checkpoint moves past it) and never delivered. One subclass per source.
/// </summary>
public abstract class SourceConformanceTests : IAsyncLifetime
{
    /// <summary>Where a filter pattern finds the payload: <c>body</c> (SQS-style queues) or <c>data</c> (streams, RabbitMQ).</summary>
    protected abstract string PayloadKey { get; }

    /// <summary>Queues take plain-value patterns for non-JSON payloads; streams match data only as JSON (as Lambda's Kinesis mappings).</summary>
    protected virtual bool PlainPatterns => true;

    public abstract Task InitializeAsync();

    public abstract Task DisposeAsync();

    protected abstract Task PublishAsync(IReadOnlyList<string> bodies);

    protected abstract Poller Poller(TestFunction function, PollerSettings settings, IPollerObserver observer);

    /// <summary>After the poller has stopped: true when each of the <paramref name="published"/> records was acknowledged.</summary>
    protected abstract Task<bool> AllAcknowledgedAsync(int published);

    protected virtual List<string> Bodies(JsonDocument batch) => TestFunction.Bodies(batch);

    private List<List<string>> Bodies(TestFunction function) => [.. function.Batches.Select(Bodies)];

    private static PollerSettings Settings(int batchSize, int window) => new()
    {
        FunctionName = "default/f", BatchSize = batchSize, BatchingWindow = TimeSpan.FromSeconds(window), MaximumConcurrency = 1,
    };

    /// <summary>Runs a poller until it has finished (acknowledged and reported) <paramref name="delivered"/> records, then stops it.</summary>
    private async Task<TestFunction> RunUntilAsync(PollerSettings settings, int delivered)
    {
        var function = new TestFunction();
        var observer = new CountingObserver();
        var cts = Pollers.Start(Poller(function, settings, observer));
        await Eventually.TrueAsync(() => observer.Records >= delivered, $"{delivered} records processed");
        await Pollers.StopAsync(cts);
        cts.Dispose();
        return function;
    }

    [Fact]
    public async Task Batches_are_cut_at_the_batch_size()
    {
        var bodies = Enumerable.Range(0, 7).Select(i => $"m{i}").ToList();
        await PublishAsync(bodies);
        var function = await RunUntilAsync(Settings(batchSize: 3, window: 10), 7);

        var batches = Bodies(function);
        Assert.Equal([3, 3, 1], batches.Select(b => b.Count)); // full batches go at once; the last one when the window closes
        Assert.Equal(bodies, batches.SelectMany(b => b));
        await Eventually.TrueAsync(async () => (await AllAcknowledgedAsync(7)), "every record acknowledged");
    }

    [Fact]
    public async Task A_batch_short_of_the_batch_size_is_sent_when_the_window_closes()
    {
        await PublishAsync(["w1", "w2", "w3"]);
        var function = await RunUntilAsync(Settings(batchSize: 100, window: 5), 3); // never, if only a full batch were sent

        Assert.Equal(["w1", "w2", "w3"], Assert.Single(Bodies(function)));
        await Eventually.TrueAsync(async () => (await AllAcknowledgedAsync(3)), "every record acknowledged");
    }

    [Fact]
    public async Task A_batch_is_cut_before_its_payload_would_pass_6_MB()
    {
        var bodies = Enumerable.Range(0, 7).Select(i => $"{i}{new string('x', 999_999)}").ToList(); // 7 × 1,000,000 bytes
        await PublishAsync(bodies);
        var function = await RunUntilAsync(Settings(batchSize: 10, window: 10), 7);

        Assert.All(function.PayloadSizes, size => Assert.InRange(size, 1, EventShapes.MaxPayloadBytes));
        Assert.True(function.Batches.Count >= 2, $"7 MB of records in more than one invocation ({function.Batches.Count})");
        Assert.True(Bodies(function)[0].Count > 1, "the first batch holds as many records as fit");
        Assert.Equal(bodies, Bodies(function).SelectMany(b => b));
        await Eventually.TrueAsync(async () => (await AllAcknowledgedAsync(7)), "every record acknowledged");
    }

    /// <summary>(payload, matches): one record per operator that matches and one that does not, JSON and plain.</summary>
    private static readonly (string Body, bool Matches)[] FilterCases =
    [
        ("""{"exact":"x"}""", true), ("""{"exact":"y"}""", false),
        ("""{"pre":"p-1"}""", true), ("""{"pre":"q-1"}""", false),
        ("""{"suf":"a.png"}""", true), ("""{"suf":"a.gif"}""", false),
        ("""{"but":"sunny"}""", true), ("""{"but":"raining"}""", false),
        ("""{"num":15}""", true), ("""{"num":25}""", false), ("""{"num":"15"}""", false),
        ("""{"has":1}""", true), ("""{"other":1}""", false),
        ("""{"ci":"YES"}""", true), ("""{"ci":"nope"}""", false),
        ("plain-1", true), ("exact-plain", true), ("plain", false), ("EXACT-PLAIN", false),
        ("""{"x":"plain-1"}""", false), // a plain pattern never matches a JSON payload
        ("exact=x", false), // a JSON pattern never matches a plain payload
        ("""{"exact":"x","n":2}""", true),
    ];

    [Fact]
    public async Task Every_filter_operator_applies_per_record_and_unmatched_records_are_acknowledged_never_delivered()
    {
        var json = $$$"""
            {"{{{PayloadKey}}}":{"$or":[
              {"exact":["x"]},
              {"pre":[{"prefix":"p-"}]},
              {"suf":[{"suffix":".png"}]},
              {"but":[{"anything-but":["raining","snowing"]}]},
              {"num":[{"numeric":[">",10,"<=",20]}]},
              {"has":[{"exists":true}]},
              {"ci":[{"equals-ignore-case":"yes"}]}
            ]}}
            """;
        var plain = $$$"""{"{{{PayloadKey}}}":[{"prefix":"plain-"},"exact-plain"]}""";
        await PublishAsync([.. FilterCases.Select(c => c.Body)]);
        // Streams: no plain-value pattern (rejected), so plain data matches nothing and is skipped past.
        var expected = FilterCases.Where(c => c.Matches && (PlainPatterns || c.Body.StartsWith('{'))).Select(c => c.Body).ToList();
        // The last record matches: once it is processed, every earlier record was filtered and acknowledged (one batch loop, in order).
        var filter = PlainPatterns ? new RecordFilter([json, plain]) : new RecordFilter([json], stream: true);
        var function = await RunUntilAsync(Settings(batchSize: 50, window: 3) with { Filter = filter }, expected.Count);

        Assert.Equal(expected, Bodies(function).SelectMany(b => b)); // in source order, nothing that no filter matches
        await Eventually.TrueAsync(async () => (await AllAcknowledgedAsync(FilterCases.Length)), "the unmatched records acknowledged too");
    }
}

public sealed class NatsQueueConformanceTests : SourceConformanceTests
{
    private ServerProcess nats = null!;
    private NatsConnection client = null!;
    private NatsJSContext js = null!;

    protected override string PayloadKey => "body";

    public override async Task InitializeAsync()
    {
        nats = await ServerProcess.NatsAsync();
        client = new NatsConnection(NatsOpts.Default with { Url = nats.NatsUrl });
        js = new NatsJSContext(client);
        await js.CreateStreamAsync(new StreamConfig("WORK", ["work"]) { Retention = StreamConfigRetention.Workqueue });
    }

    public override async Task DisposeAsync()
    {
        await client.DisposeAsync();
        await nats.DisposeAsync();
    }

    protected override async Task PublishAsync(IReadOnlyList<string> bodies)
    {
        foreach (var body in bodies)
        {
            (await js.PublishAsync("work", Encoding.UTF8.GetBytes(body))).EnsureSuccess();
        }
    }

    protected override Poller Poller(TestFunction function, PollerSettings settings, IPollerObserver observer) =>
        new(() => new NatsQueueSource(nats.NatsUrl, "work", "esm-work", "default", SourceCredentials.None, TimeSpan.FromSeconds(30)), settings, function, observer, TimeProvider.System);

    protected override async Task<bool> AllAcknowledgedAsync(int published) => (await js.GetStreamAsync("WORK")).Info.State.Messages == 0; // work queue: ack = delete
}

public sealed class RedisListConformanceTests : SourceConformanceTests
{
    private ServerProcess server = null!;
    private ConnectionMultiplexer redis = null!;

    protected override string PayloadKey => "body";

    public override async Task InitializeAsync()
    {
        server = await ServerProcess.RedisAsync();
        redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}");
    }

    public override async Task DisposeAsync()
    {
        await redis.DisposeAsync();
        await server.DisposeAsync();
    }

    protected override async Task PublishAsync(IReadOnlyList<string> bodies)
    {
        foreach (var body in bodies)
        {
            await redis.GetDatabase().ListLeftPushAsync("jobs", body);
        }
    }

    protected override Poller Poller(TestFunction function, PollerSettings settings, IPollerObserver observer) =>
        new(() => new RedisListSource(server.RedisUrl, "jobs", "esm-jobs", "default", SourceCredentials.None, TimeProvider.System), settings, function, observer, TimeProvider.System);

    protected override async Task<bool> AllAcknowledgedAsync(int published) =>
        await redis.GetDatabase().ListLengthAsync("jobs") == 0 && await redis.GetDatabase().ListLengthAsync("jobs:fnop:esm-jobs:processing") == 0;
}

public sealed class RabbitMqConformanceTests(RabbitMqServer server) : SourceConformanceTests, IClassFixture<RabbitMqServer>
{
    private readonly string queue = "conf-" + Guid.NewGuid().ToString("N")[..8];
    private IConnection connection = null!;
    private IChannel channel = null!;

    protected override string PayloadKey => "data";

    public override async Task InitializeAsync()
    {
        (connection, channel) = await server.OpenAsync();
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
    }

    public override async Task DisposeAsync()
    {
        await channel.DisposeAsync();
        await connection.DisposeAsync();
    }

    protected override async Task PublishAsync(IReadOnlyList<string> bodies)
    {
        foreach (var body in bodies)
        {
            await channel.BasicPublishAsync("", queue, mandatory: false, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(body));
        }
    }

    protected override Poller Poller(TestFunction function, PollerSettings settings, IPollerObserver observer) =>
        new(() => new RabbitMqQueueSource(server.Url, queue, "esm-" + queue, "default", SourceCredentials.None, settings.BatchSize * settings.MaximumConcurrency, new DeliveryCounter()),
            settings, function, observer, TimeProvider.System);

    protected override List<string> Bodies(JsonDocument batch) => RabbitMqTests.RmqBodies(batch);

    // The poller's connection is closed: anything delivered but not acked is back in the queue's ready count.
    protected override async Task<bool> AllAcknowledgedAsync(int published) =>
        (await channel.QueueDeclarePassiveAsync(queue)) is { ConsumerCount: 0, MessageCount: 0 };
}

public sealed class NatsStreamConformanceTests : SourceConformanceTests
{
    private ServerProcess nats = null!;
    private NatsConnection client = null!;
    private NatsJSContext js = null!;

    protected override string PayloadKey => "data";

    protected override bool PlainPatterns => false;

    public override async Task InitializeAsync()
    {
        nats = await ServerProcess.NatsAsync();
        client = new NatsConnection(NatsOpts.Default with { Url = nats.NatsUrl });
        js = new NatsJSContext(client);
        await js.CreateStreamAsync(new StreamConfig("EVENTS", ["events.>"]));
    }

    public override async Task DisposeAsync()
    {
        await client.DisposeAsync();
        await nats.DisposeAsync();
    }

    protected override async Task PublishAsync(IReadOnlyList<string> bodies)
    {
        foreach (var body in bodies)
        {
            (await js.PublishAsync("events.a", Encoding.UTF8.GetBytes(body))).EnsureSuccess();
        }
    }

    protected override Poller Poller(TestFunction function, PollerSettings settings, IPollerObserver observer) =>
        new(() => new NatsStreamSource(nats.NatsUrl, "EVENTS", "esm-events", "default", SourceCredentials.None, new StartingPosition(StartingPosition.TrimHorizon)),
            settings, function, observer, TimeProvider.System);

    // The checkpoint (the last processed stream sequence) is past the last record.
    protected override async Task<bool> AllAcknowledgedAsync(int published)
    {
        try
        {
            var kv = await new NATS.Client.KeyValueStore.NatsKVContext(js).GetStoreAsync(NatsStreamSource.CheckpointBucket);
            return (await kv.GetEntryAsync<string>("esm-events")).Value == published.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (NatsJSException)
        {
            return false;
        }
    }
}

public sealed class RedisStreamConformanceTests : SourceConformanceTests
{
    private ServerProcess server = null!;
    private ConnectionMultiplexer redis = null!;
    private string? lastId;

    protected override string PayloadKey => "data";

    protected override bool PlainPatterns => false;

    public override async Task InitializeAsync()
    {
        server = await ServerProcess.RedisAsync();
        redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}");
    }

    public override async Task DisposeAsync()
    {
        await redis.DisposeAsync();
        await server.DisposeAsync();
    }

    protected override async Task PublishAsync(IReadOnlyList<string> bodies)
    {
        foreach (var body in bodies)
        {
            lastId = (await redis.GetDatabase().StreamAddAsync("clicks", [new NameValueEntry("data", body), new NameValueEntry("partitionKey", "user-1")]))!;
        }
    }

    protected override Poller Poller(TestFunction function, PollerSettings settings, IPollerObserver observer) =>
        new(() => new RedisStreamSource(server.RedisUrl, "clicks", "esm-clicks", "default", SourceCredentials.None, new StartingPosition(StartingPosition.TrimHorizon), TimeProvider.System),
            settings, function, observer, TimeProvider.System);

    // The group has read past the last entry and holds nothing pending (XACK).
    protected override async Task<bool> AllAcknowledgedAsync(int published) =>
        (await redis.GetDatabase().StreamGroupInfoAsync("clicks")) is [var group] && group.LastDeliveredId == lastId && group.PendingMessageCount == 0;
}
