using System.Text;
using FnOperator.Api;
using FnOperator.EventSources.Sources;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.EventSources.Tests;

public sealed class NatsQueueTests : IAsyncLifetime
{
    private ServerProcess nats = null!;
    private NatsConnection client = null!;
    private NatsJSContext js = null!;

    public async Task InitializeAsync()
    {
        nats = await ServerProcess.NatsAsync();
        client = new NatsConnection(NatsOpts.Default with { Url = nats.NatsUrl });
        js = new NatsJSContext(client);
        await js.CreateStreamAsync(new StreamConfig("ORDERS", ["orders"]) { Retention = StreamConfigRetention.Workqueue });
    }

    public async Task DisposeAsync()
    {
        await client.DisposeAsync();
        await nats.DisposeAsync();
    }

    private async Task PublishAsync(params string[] bodies)
    {
        foreach (var body in bodies)
        {
            (await js.PublishAsync("orders", Encoding.UTF8.GetBytes(body))).EnsureSuccess();
        }
    }

    private NatsQueueSource Source(string consumer = "esm-orders", TimeSpan? visibility = null) =>
        new(nats.NatsUrl, "orders", consumer, "default", SourceCredentials.None, visibility ?? TimeSpan.FromSeconds(30));

    private static async Task<CancellationTokenSource> RunAsync(Poller poller)
    {
        var cts = Pollers.Start(poller);
        await Task.Yield();
        return cts;
    }

    private Poller Poller(TestFunction function, PollerSettings settings, string consumer = "esm-orders") =>
        new(() => Source(consumer), settings, function, NullPollerObserver.Instance, TimeProvider.System);

    private static PollerSettings Settings(int batchSize = 10, int window = 0) => new()
    {
        FunctionName = "default/f", BatchSize = batchSize, BatchingWindow = TimeSpan.FromSeconds(window), MaximumConcurrency = 1,
    };

    [Fact]
    public async Task Nats_queue_batches_by_size()
    {
        await PublishAsync([.. Enumerable.Range(0, 7).Select(i => $"m{i}")]);
        var function = new TestFunction();
        using var cts = await RunAsync(Poller(function, Settings(batchSize: 3, window: 5)));
        await Eventually.TrueAsync(() => function.Bodies().Sum(b => b.Count) == 7, "7 messages");
        Assert.All(function.Bodies(), b => Assert.True(b.Count <= 3));
        Assert.Equal(3, function.Bodies()[0].Count);
        await Pollers.StopAsync(cts); // wait for the poller to return: the next test uses the same consumer
    }

    [Fact]
    public async Task Nats_queue_batches_by_window()
    {
        var function = new TestFunction();
        using var cts = await RunAsync(Poller(function, Settings(batchSize: 100, window: 5))); // wide: two publishes on a loaded machine stay within one window
        await PublishAsync("a", "b");
        await Eventually.TrueAsync(() => function.Batches.Count == 1, "a batch after the window");
        Assert.Equal(["a", "b"], function.Bodies()[0].Order());
        await Pollers.StopAsync(cts); // wait for the poller to return: the next test uses the same consumer
    }

    [Fact]
    public async Task Nats_queue_event_has_the_sqs_shape_field_by_field()
    {
        var function = new TestFunction();
        using var cts = await RunAsync(Poller(function, Settings()));
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        (await js.PublishAsync("orders", Encoding.UTF8.GetBytes("""{"id":1}"""), headers: new NatsHeaders { ["type"] = "order" })).EnsureSuccess();
        var after = DateTimeOffset.UtcNow.AddSeconds(1);
        await Eventually.TrueAsync(() => function.Batches.Count == 1, "a batch");
        var records = function.Batches.First().RootElement.GetProperty("Records");
        Assert.Equal(["Records"], function.Batches.First().RootElement.EnumerateObject().Select(p => p.Name));
        var r = Assert.Single(records.EnumerateArray());
        LambdaShapes.AssertSqsRecord(r, """{"id":1}""", "arn:fnoperator:nats:local:default:queue/orders", "nats", 1, before, after, new Dictionary<string, string> { ["type"] = "order" });
        Assert.StartsWith("ORDERS-", r.GetProperty("messageId").GetString()); // stream name and sequence: unique per message
        await Pollers.StopAsync(cts); // wait for the poller to return: the next test uses the same consumer
    }

    [Fact]
    public async Task Nats_queue_filters_per_record_and_deletes_the_rest()
    {
        var function = new TestFunction();
        var settings = Settings(batchSize: 10, window: 1) with { Filter = new RecordFilter(["""{"body":{"kind":["order"]}}""", """{"body":[{"prefix":"plain-"}]}"""]) };
        await PublishAsync("""{"kind":"order","n":1}""", """{"kind":"refund"}""", "plain-yes", "other", """{"kind":"order","n":2}""");
        using var cts = await RunAsync(Poller(function, settings));
        await Eventually.TrueAsync(() => function.Bodies().Sum(b => b.Count) == 3, "the 3 matching records");
        await Eventually.TrueAsync(async () => (await Pending()) == 0, "non-matching records deleted too");
        Assert.DoesNotContain(function.Bodies().SelectMany(b => b), b => b.Contains("refund", StringComparison.Ordinal) || b == "other");
        await Pollers.StopAsync(cts); // wait for the poller to return: the next test uses the same consumer
    }

    [Fact]
    public async Task Nats_queue_partial_failure_redelivers_only_reported_items()
    {
        var function = new TestFunction();
        var failedOnce = new HashSet<string>();
        function.Handler = doc =>
        {
            var records = doc.RootElement.GetProperty("Records").EnumerateArray().ToList();
            var bad = records.Where(r => r.GetProperty("body").GetString() == "bad" && failedOnce.Add(r.GetProperty("messageId").GetString()!)).Select(r => r.GetProperty("messageId").GetString()!).ToArray();
            return TestFunction.Failures(bad);
        };
        await PublishAsync("ok1", "bad", "ok2");
        using var cts = await RunAsync(Poller(function, Settings(batchSize: 10, window: 1) with { ReportBatchItemFailures = true }));
        await Eventually.TrueAsync(() => function.Batches.Count >= 2, "a retry");
        await Eventually.TrueAsync(async () => (await Pending()) == 0, "all acked");
        var bodies = function.Bodies();
        Assert.Equal(["bad", "ok1", "ok2"], bodies[0].Order());
        Assert.Equal(["bad"], bodies[1]);
        await Pollers.StopAsync(cts); // wait for the poller to return: the next test uses the same consumer
    }

    [Fact]
    public async Task Nats_queue_dead_letters_after_the_retry_limit()
    {
        var function = new TestFunction { Handler = _ => TestFunction.Error() };
        await js.CreateStreamAsync(new StreamConfig("DLQ", ["orders-dlq"]));
        var settings = Settings() with { MaximumRetryAttempts = 2, OnFailure = new Destination { Queue = "orders-dlq" } };
        await PublishAsync("poison");
        using var cts = await RunAsync(Poller(function, settings));
        await Eventually.TrueAsync(async () => (await DlqCount()) == 1, "the message in the dead-letter queue");
        Assert.Equal(3, function.Batches.Count); // the first delivery and 2 retries
        await Eventually.TrueAsync(async () => (await Pending()) == 0, "the poison message deleted from the queue");
        await Pollers.StopAsync(cts); // wait for the poller to return: the next test uses the same consumer
    }

    [Fact]
    public async Task Nats_queue_stopped_poller_keeps_messages_for_the_next_one()
    {
        var function = new TestFunction();
        var cts = await RunAsync(Poller(function, Settings()));
        await PublishAsync("one");
        await Eventually.TrueAsync(() => function.Batches.Count == 1, "first message");
        await Pollers.StopAsync(cts); // disabled: the poller has returned, nothing is polled meanwhile
        await PublishAsync("two");
        Assert.Single(function.Batches);
        Assert.Equal(1, await Pending()); // "two" waits in the stream for the next poller
        using var again = await RunAsync(Poller(function, Settings()));
        await Eventually.TrueAsync(() => function.Batches.Count == 2, "second message after re-enabling");
        Assert.Equal(["two"], function.Bodies()[1]);
        await Pollers.StopAsync(again);
        cts.Dispose();
    }

    [Fact]
    public async Task Nats_queue_runs_up_to_maximum_concurrency_batches_at_once_and_never_more()
    {
        await PublishAsync([.. Enumerable.Range(0, 40).Select(i => $"c{i}")]);
        var inFlight = 0;
        var maxInFlight = 0;
        var three = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var function = new TestFunction
        {
            AsyncHandler = async _ =>
            {
                var now = Interlocked.Increment(ref inFlight);
                InterlockedMax(ref maxInFlight, now);
                if (now >= 3)
                {
                    three.TrySetResult();
                }

                // Hold each batch until 3 ran at once (bounded: a poller with fewer loops fails the assertion below). The
                // hold waits without a thread (a spinning handler held three pool threads on a 2-core machine).
                await Task.WhenAny(three.Task, Task.Delay(TimeSpan.FromSeconds(60)));
                Interlocked.Decrement(ref inFlight);
                return TestFunction.Ok();
            },
        };
        using var cts = await RunAsync(Poller(function, Settings(batchSize: 2, window: 0) with { MaximumConcurrency = 3 }));
        await Eventually.TrueAsync(async () => function.Bodies().Sum(b => b.Count) >= 40 && (await Pending()) == 0, "all 40 messages", 120);
        await Pollers.StopAsync(cts);

        Assert.Equal(3, maxInFlight); // maximumConcurrency batches in flight, not one more
        Assert.Equal(40, function.Bodies().SelectMany(b => b).Distinct().Count());
        Assert.All(function.Bodies(), b => Assert.InRange(b.Count, 1, 2));
    }

    [Fact]
    public async Task Nats_queue_batch_running_longer_than_the_ack_wait_is_kept_by_in_progress_acks_and_not_handed_to_another_poller()
    {
        // Ack wait 5 s; the first batch runs 15 s (three ack waits). Without in-progress acks the message is redelivered
        // after 5 s and the second poller on the same consumer runs it again. The function waits without holding a
        // thread, so a busy thread pool (other test classes run alongside) cannot starve the keep-alive; the margin
        // (a progress ack every 1.7 s against a 5 s ack wait) leaves room for a loaded machine.
        var deliveries = 0;
        var function = new TestFunction
        {
            AsyncHandler = async doc =>
            {
                if (Interlocked.Increment(ref deliveries) == 1)
                {
                    await Task.Delay(TimeSpan.FromSeconds(15));
                }

                return TestFunction.Ok();
            },
        };
        var visibility = TimeSpan.FromSeconds(5);
        Poller Holder() => new(() => Source("esm-long", visibility), Settings(), function, NullPollerObserver.Instance, TimeProvider.System);
        using var first = await RunAsync(Holder());
        using var second = await RunAsync(Holder());
        await PublishAsync("long");
        await Eventually.TrueAsync(async () => (await Pending()) == 0, "the long batch acked", 120);
        await Pollers.StopAsync(first);
        await Pollers.StopAsync(second);

        Assert.Equal(1, Volatile.Read(ref deliveries));
        Assert.Equal(["long"], Assert.Single(function.Bodies()));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private async Task<long> Pending()
    {
        var stream = await js.GetStreamAsync("ORDERS");
        return stream.Info.State.Messages;
    }

    private async Task<long> DlqCount() => (await js.GetStreamAsync("DLQ")).Info.State.Messages;
}
