using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.EventSources.Sources;
using RabbitMQ.Client;

namespace FnOperator.EventSources.Tests;

/// <summary>
/// The RabbitMQ source against a real rabbitmq-server (one per test class, <see cref="RabbitMqServer"/>): Lambda's
/// Amazon MQ for RabbitMQ event shape, batching, filters, acknowledgement only after success, requeue and dead-letter
/// (mapping destination and the queue's own dead-letter exchange), and recovery from a broker restart.
/// </summary>
public sealed class RabbitMqTests(RabbitMqServer server) : IClassFixture<RabbitMqServer>, IAsyncLifetime
{
    private IConnection connection = null!;
    private IChannel channel = null!;

    public async Task InitializeAsync() => (connection, channel) = await server.OpenAsync();

    public async Task DisposeAsync()
    {
        await channel.DisposeAsync();
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task Rabbitmq_batch_has_Lambdas_rmq_shape_field_by_field()
    {
        await DeclareAsync("shape");
        var props = new BasicProperties
        {
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            MessageId = "m-1",
            CorrelationId = "c-1",
            ReplyTo = "replies",
            Expiration = "60000",
            Type = "order",
            AppId = "shop",
            Priority = 5,
            DeliveryMode = DeliveryModes.Persistent,
            Timestamp = new AmqpTimestamp(2041),
            Headers = new Dictionary<string, object?> { ["header1"] = Encoding.UTF8.GetBytes("value1"), ["numberInHeader"] = 10 },
        };
        await channel.BasicPublishAsync("", "shape", mandatory: false, props, Encoding.UTF8.GetBytes("""{"id":1}"""));

        var function = new TestFunction();
        using var cts = Run(Poller(function, "shape", Settings()));
        await Eventually.TrueAsync(() => function.Batches.Count == 1, "one batch");
        var e = function.Batches.First().RootElement;
        Assert.Equal("aws:rmq", e.GetProperty("eventSource").GetString());
        Assert.Equal("arn:fnoperator:rabbitmq:local:default:queue/shape", e.GetProperty("eventSourceArn").GetString());
        var byQueue = e.GetProperty("rmqMessagesByQueue");
        Assert.Equal(["shape::/"], byQueue.EnumerateObject().Select(p => p.Name));
        var m = byQueue.GetProperty("shape::/")[0];
        Assert.False(m.GetProperty("redelivered").GetBoolean());
        Assert.Equal("""{"id":1}""", Encoding.UTF8.GetString(Convert.FromBase64String(m.GetProperty("data").GetString()!)));
        var p = m.GetProperty("basicProperties");
        Assert.Equal("application/json", p.GetProperty("contentType").GetString());
        Assert.Equal("utf-8", p.GetProperty("contentEncoding").GetString());
        Assert.Equal("m-1", p.GetProperty("messageId").GetString());
        Assert.Equal("c-1", p.GetProperty("correlationId").GetString());
        Assert.Equal("replies", p.GetProperty("replyTo").GetString());
        Assert.Equal("60000", p.GetProperty("expiration").GetString());
        Assert.Equal("order", p.GetProperty("type").GetString());
        Assert.Equal("shop", p.GetProperty("appId").GetString());
        Assert.Equal(JsonValueKind.Null, p.GetProperty("userId").ValueKind);
        Assert.Equal(JsonValueKind.Null, p.GetProperty("clusterId").ValueKind);
        Assert.Equal(5, p.GetProperty("priority").GetInt32());
        Assert.Equal(2, p.GetProperty("deliveryMode").GetInt32());
        Assert.Equal("Jan 1, 1970, 12:34:01 AM", p.GetProperty("timestamp").GetString());
        Assert.Equal(8, p.GetProperty("bodySize").GetInt32());
        Assert.Equal("value1"u8.ToArray().Select(b => (int)b), p.GetProperty("headers").GetProperty("header1").GetProperty("bytes").EnumerateArray().Select(b => b.GetInt32()));
        Assert.Equal(10, p.GetProperty("headers").GetProperty("numberInHeader").GetInt32());
        await Eventually.TrueAsync(() => Ready("shape") == 0, "acked");
    }

    [Fact]
    public async Task Rabbitmq_batches_by_size_and_by_window()
    {
        await DeclareAsync("sized");
        await DeclareAsync("windowed");
        await PublishAsync("sized", "s1", "s2", "s3", "s4", "s5");
        await PublishAsync("windowed", "w1", "w2", "w3");

        var sized = new TestFunction();
        var windowed = new TestFunction();
        using var a = Run(Poller(sized, "sized", Settings(batchSize: 2, window: 1)));
        using var b = Run(Poller(windowed, "windowed", Settings(batchSize: 100, window: 5))); // wide: the broker pushes w2, w3 after w1; a loaded machine must not cut the window first
        await Eventually.TrueAsync(() => sized.Batches.Sum(x => RmqBodies(x).Count) == 5, "5 sized messages");
        await Eventually.TrueAsync(() => windowed.Batches.Sum(x => RmqBodies(x).Count) == 3, "3 windowed messages");

        Assert.All(sized.Batches, x => Assert.InRange(RmqBodies(x).Count, 1, 2));
        Assert.Equal(["s1", "s2", "s3", "s4", "s5"], sized.Batches.SelectMany(RmqBodies));
        Assert.Single(windowed.Batches); // all three within one window, batch size not reached
        Assert.Equal(["w1", "w2", "w3"], RmqBodies(windowed.Batches.First()));
    }

    [Fact]
    public async Task Rabbitmq_filters_json_and_plain_bodies_and_acks_what_no_filter_matches()
    {
        await DeclareAsync("filtered");
        await PublishAsync("filtered", """{"kind":"order","total":120}""", """{"kind":"refund"}""", "ping", "pong", """{"kind":"order","total":5}""");
        var function = new TestFunction();
        var settings = Settings(batchSize: 10, window: 1) with
        {
            Filter = new RecordFilter(["""{"data":{"kind":["order"],"total":[{"numeric":[">",100]}]}}""", """{"data":["ping"]}"""]),
        };
        var cts = Run(Poller(function, "filtered", settings));
        await Eventually.TrueAsync(() => function.Batches.Sum(x => RmqBodies(x).Count) == 2, "two matching messages");
        await Eventually.TrueAsync(() => Ready("filtered") == 0, "queue drained");
        await cts.CancelAsync();
        cts.Dispose();

        // The poller is gone (its connection closed): anything not acked would be back in the queue.
        await Eventually.TrueAsync(() => Ready("filtered") == 0 && Consumers("filtered") == 0, "nothing requeued after the poller stopped");
        Assert.Equal(["ping", """{"kind":"order","total":120}"""], function.Batches.SelectMany(RmqBodies).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Rabbitmq_acks_only_after_the_function_returns_so_a_poller_stopped_mid_invoke_leaves_the_message_requeued()
    {
        await DeclareAsync("inflight");
        await PublishAsync("inflight", "job");
        var first = new HangingFunction();
        var cts = Run(new Poller(() => new RabbitMqQueueSource(server.Url, "inflight", "esm-inflight", "default", SourceCredentials.None, 10, new DeliveryCounter()),
            Settings(), first, NullPollerObserver.Instance, TimeProvider.System));
        await Eventually.TrueAsync(() => first.Invoked == 1, "delivered to the first poller");
        Assert.Equal(0u, Ready("inflight")); // delivered, not acknowledged while the function runs
        await cts.CancelAsync(); // the poller stops while the function runs: no ack, its connection closes
        await Eventually.TrueAsync(() => Consumers("inflight") == 0 && Ready("inflight") == 1, "requeued by the broker", 90);

        var second = new TestFunction();
        using var again = Run(Poller(second, "inflight", Settings()));
        await Eventually.TrueAsync(() => second.Batches.Count == 1, "redelivered to the next poller");
        var m = second.Batches.First().RootElement.GetProperty("rmqMessagesByQueue").GetProperty("inflight::/")[0];
        Assert.True(m.GetProperty("redelivered").GetBoolean());
        Assert.Equal(["job"], RmqBodies(second.Batches.First()));
        await Eventually.TrueAsync(() => Ready("inflight") == 0, "acked after success");
        cts.Dispose();
    }

    [Fact]
    public async Task Rabbitmq_disabled_mapping_consumes_nothing_and_re_enabled_delivers_exactly_the_waiting_messages()
    {
        await DeclareAsync("toggled");
        await PublishAsync("toggled", "m1");
        var function = new TestFunction();
        var cts = Pollers.Start(Poller(function, "toggled", Settings()));
        await Eventually.TrueAsync(() => function.Batches.Count == 1 && Ready("toggled") == 0, "m1 delivered");
        await Pollers.StopAsync(cts); // enabled: false: the worker's poller is cancelled and has returned
        await Eventually.TrueAsync(() => Consumers("toggled") == 0, "no consumer on the queue while disabled");

        await PublishAsync("toggled", "m2", "m3");
        await Eventually.TrueAsync(() => Ready("toggled") == 2, "m2 and m3 ready in the queue");
        Assert.Equal(0u, Consumers("toggled"));
        Assert.Equal(["m1"], function.Batches.SelectMany(RmqBodies));

        var before = function.Batches.Count;
        using var again = Pollers.Start(Poller(function, "toggled", Settings()));
        await Eventually.TrueAsync(() => function.Batches.Skip(before).SelectMany(RmqBodies).Count() == 2, "m2 and m3 after re-enabling");
        Assert.Equal(["m2", "m3"], function.Batches.Skip(before).SelectMany(RmqBodies).Order());
        await Eventually.TrueAsync(() => Ready("toggled") == 0, "acked after success");
        await Pollers.StopAsync(again);
        Assert.Equal(["m1", "m2", "m3"], function.Batches.SelectMany(RmqBodies).Order()); // each once
        cts.Dispose();
    }

    [Fact]
    public async Task Rabbitmq_function_error_requeues_and_after_the_retry_limit_the_message_goes_to_the_failure_queue()
    {
        await DeclareAsync("work", quorum: true);
        await DeclareAsync("work-dead");
        await PublishAsync("work", "good", "poison");
        var function = new TestFunction { Handler = doc => RmqBodies(doc).Contains("poison") ? TestFunction.Error() : TestFunction.Ok() };
        using var cts = Run(Poller(function, "work", Settings(batchSize: 1, window: 0) with { MaximumRetryAttempts = 2, OnFailure = new Destination { Queue = "work-dead" } }));
        await Eventually.TrueAsync(() => Ready("work-dead") == 1, "poison in the failure queue");

        var bodies = function.Batches.SelectMany(RmqBodies).ToList();
        Assert.Equal(1, bodies.Count(b => b == "good"));
        Assert.Equal(3, bodies.Count(b => b == "poison")); // first delivery + maximumRetryAttempts redeliveries
        var redelivered = function.Batches.Select(b => b.RootElement.GetProperty("rmqMessagesByQueue").GetProperty("work::/")[0])
            .Where(m => Encoding.UTF8.GetString(Convert.FromBase64String(m.GetProperty("data").GetString()!)) == "poison")
            .Select(m => m.GetProperty("redelivered").GetBoolean()).ToList();
        Assert.Equal([false, true, true], redelivered);
        var dead = await channel.BasicGetAsync("work-dead", autoAck: true);
        Assert.Equal("poison", Encoding.UTF8.GetString(dead!.Body.Span));
        await Eventually.TrueAsync(() => Ready("work") == 0, "work queue drained");
    }

    [Fact]
    public async Task Rabbitmq_without_a_mapping_destination_rejects_to_the_queues_dead_letter_exchange()
    {
        await channel.ExchangeDeclareAsync("dlx", ExchangeType.Fanout, durable: true);
        await DeclareAsync("parked");
        await channel.QueueBindAsync("parked", "dlx", "");
        await channel.QueueDeclareAsync("classic", durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?> { ["x-dead-letter-exchange"] = "dlx" });
        await PublishAsync("classic", "bad");
        var function = new TestFunction { Handler = _ => TestFunction.Error() };
        using var cts = Run(Poller(function, "classic", Settings(batchSize: 1, window: 0) with { MaximumRetryAttempts = 1, OnFailure = null }));
        await Eventually.TrueAsync(() => Ready("parked") == 1, "dead-lettered by the broker");
        Assert.Equal(2, function.Batches.Count); // first delivery + 1 retry (counted by the poller on a classic queue)
        Assert.Equal(0u, Ready("classic"));
    }

    [Fact]
    public async Task Rabbitmq_poller_reconnects_after_a_broker_restart_and_reports_the_outage()
    {
        await DeclareAsync("durable");
        await PublishAsync("durable", "before");
        var function = new TestFunction();
        var observer = new RecordingObserver();
        using var cts = Run(Poller(function, "durable", Settings(), observer));
        await Eventually.TrueAsync(() => function.Batches.Count == 1, "first message");

        await channel.DisposeAsync();
        await connection.DisposeAsync();
        await server.RestartAsync();
        (connection, channel) = await server.OpenAsync();
        await PublishAsync("durable", "after");
        await Eventually.TrueAsync(() => function.Batches.SelectMany(RmqBodies).Contains("after"), "message published after the restart", 120);
        Assert.NotEmpty(observer.Failures);
        Assert.True(observer.Connects >= 2, "connected again");
        Assert.Equal(["before", "after"], function.Batches.SelectMany(RmqBodies).Distinct());
    }

    [Fact]
    public async Task Rabbitmq_missing_queue_and_wrong_password_are_clear_source_errors()
    {
        var observer = new RecordingObserver();
        using var a = Run(new Poller(() => new RabbitMqQueueSource(server.Url, "no-such-queue", "esm", "default", SourceCredentials.None, 10, new DeliveryCounter()), Settings(), new TestFunction(), observer, TimeProvider.System));
        var badAuth = new RecordingObserver();
        using var b = Run(new Poller(() => new RabbitMqQueueSource(server.Url, "x", "esm", "default", new SourceCredentials("guest", "wrong", null), 10, new DeliveryCounter()), Settings(), new TestFunction(), badAuth, TimeProvider.System));
        await Eventually.TrueAsync(() => !observer.Failures.IsEmpty && !badAuth.Failures.IsEmpty, "both failed");
        var missing = observer.Failures.First();
        Assert.Equal(SourceFailure.Invalid, missing.Failure);
        Assert.Contains("no-such-queue", missing.Message, StringComparison.Ordinal);
        Assert.Contains("NOT_FOUND", missing.Message, StringComparison.Ordinal);
        Assert.Equal(SourceFailure.AuthFailed, badAuth.Failures.First().Failure);
        Assert.DoesNotContain("wrong", badAuth.Failures.First().Message, StringComparison.Ordinal);
    }

    internal static List<string> RmqBodies(JsonDocument batch) =>
        [.. batch.RootElement.GetProperty("rmqMessagesByQueue").EnumerateObject().SelectMany(q => q.Value.EnumerateArray())
            .Select(m => Encoding.UTF8.GetString(Convert.FromBase64String(m.GetProperty("data").GetString()!)))];

    private static PollerSettings Settings(int batchSize = 10, int window = 1) => new()
    {
        FunctionName = "default/f", BatchSize = batchSize, BatchingWindow = TimeSpan.FromSeconds(window), MaximumConcurrency = 1,
    };

    private Poller Poller(TestFunction function, string queue, PollerSettings settings, IPollerObserver? observer = null) =>
        new(() => new RabbitMqQueueSource(server.Url, queue, "esm-" + queue, "default", SourceCredentials.None, settings.BatchSize * settings.MaximumConcurrency, new DeliveryCounter()),
            settings, function, observer ?? NullPollerObserver.Instance, TimeProvider.System);

    private static CancellationTokenSource Run(Poller poller)
    {
        var cts = new CancellationTokenSource();
        _ = Task.Run(() => poller.RunAsync(cts.Token));
        return cts;
    }

    private Task DeclareAsync(string queue, bool quorum = false) =>
        channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: quorum ? new Dictionary<string, object?> { ["x-queue-type"] = "quorum" } : null);

    private async Task PublishAsync(string queue, params string[] bodies)
    {
        foreach (var body in bodies)
        {
            await channel.BasicPublishAsync("", queue, mandatory: false, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(body));
        }
    }

    private uint Ready(string queue) => channel.QueueDeclarePassiveAsync(queue).GetAwaiter().GetResult().MessageCount;

    private uint Consumers(string queue) => channel.QueueDeclarePassiveAsync(queue).GetAwaiter().GetResult().ConsumerCount;

    /// <summary>A function that never returns: its invocation ends only when the poller is cancelled.</summary>
    private sealed class HangingFunction : FnOperator.Contracts.IFunctionInvoker
    {
        private int invoked;

        public int Invoked => invoked;

        public async Task<FnOperator.Contracts.InvokeOutcome> InvokeAsync(string functionName, string? qualifier, ReadOnlyMemory<byte> payload, bool asynchronous, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref invoked);
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    private sealed class RecordingObserver : IPollerObserver
    {
        private int connects;

        public ConcurrentQueue<SourceException> Failures { get; } = new();

        public int Connects => connects;

        public void Connected(SourceIdentity source) => Interlocked.Increment(ref connects);

        public void Processed(string result, int records, DateTimeOffset at)
        {
        }

        public void SourceFailed(SourceException error) => Failures.Enqueue(error);

        public void Discarded(int records, string condition)
        {
        }
    }
}
