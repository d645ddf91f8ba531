using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.EventSources.Sources;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.EventSources.Tests;

public sealed class NatsStreamTests : IAsyncLifetime
{
    private ServerProcess nats = null!;
    private NatsConnection client = null!;
    private NatsJSContext js = null!;

    public async Task InitializeAsync()
    {
        nats = await ServerProcess.NatsAsync();
        client = new NatsConnection(NatsOpts.Default with { Url = nats.NatsUrl });
        js = new NatsJSContext(client);
        await js.CreateStreamAsync(new StreamConfig("EVENTS", ["events.>"]));
        await js.CreateStreamAsync(new StreamConfig("FAILURES", ["failures"]));
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
            (await js.PublishAsync("events.a", Encoding.UTF8.GetBytes(body))).EnsureSuccess();
        }
    }

    private Poller Poller(TestFunction function, PollerSettings settings, string start = StartingPosition.TrimHorizon, DateTimeOffset? at = null) =>
        new(() => new NatsStreamSource(nats.NatsUrl, "EVENTS", "esm-events", "default", SourceCredentials.None, new StartingPosition(start, at)),
            settings, function, NullPollerObserver.Instance, TimeProvider.System);

    private static CancellationTokenSource Run(Poller poller) => Pollers.Start(poller);

    private static PollerSettings Settings(int batchSize = 10, int window = 1) => new()
    {
        FunctionName = "default/f", BatchSize = batchSize, BatchingWindow = TimeSpan.FromSeconds(window),
        OnFailure = new Destination { Queue = "failures" },
    };

    [Fact]
    public async Task Nats_stream_event_has_the_kinesis_shape_field_by_field()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await PublishAsync("""{"t":1}""");
        (await js.PublishAsync("events.b", Encoding.UTF8.GetBytes("keyed"), headers: new NatsHeaders { ["Partition-Key"] = "device-7" })).EnsureSuccess();
        var after = DateTimeOffset.UtcNow.AddSeconds(1);
        var function = new TestFunction();
        using var cts = Run(Poller(function, Settings()));
        await Eventually.TrueAsync(() => function.Bodies().Sum(b => b.Count) == 2, "both records");
        Assert.Equal(["Records"], function.Batches.First().RootElement.EnumerateObject().Select(p => p.Name));
        var records = function.Batches.SelectMany(b => b.RootElement.GetProperty("Records").EnumerateArray()).ToList();
        const string Arn = "arn:fnoperator:nats:local:default:stream/EVENTS";
        LambdaShapes.AssertKinesisRecord(records[0], """{"t":1}""", "events.a", "1", Arn, "default", before, after); // no Partition-Key header: the subject
        LambdaShapes.AssertKinesisRecord(records[1], "keyed", "device-7", "2", Arn, "default", before, after);
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Nats_stream_bisects_until_the_poison_record_is_isolated_and_sent_to_the_failure_destination()
    {
        await PublishAsync("r1", "r2", "poison", "r4", "r5", "r6");
        var function = new TestFunction { Handler = doc => TestFunction.Bodies(doc).Contains("poison") ? TestFunction.Error() : TestFunction.Ok() };
        using var cts = Run(Poller(function, Settings() with { BisectBatchOnFunctionError = true, MaximumRetryAttempts = 1 }));
        await Eventually.TrueAsync(async () => (await Count("FAILURES")) == 1, "a failure record");
        // The failure record is written when [poison] alone is exhausted; the later half of the first split runs after that.
        await Eventually.TrueAsync(() => function.Bodies().Any(b => b.Contains("r6")), "r6 delivered after the poison record");
        var ok = function.Bodies().Where(b => !b.Contains("poison")).SelectMany(b => b).ToList();
        Assert.Equal(["r1", "r2", "r4", "r5", "r6"], ok); // in stream order, each once
        Assert.Contains(function.Bodies(), b => b.SequenceEqual(["poison"]));
        var failure = await FirstFailureAsync();
        Assert.Equal("RetryAttemptsExhausted", failure.GetProperty("requestContext").GetProperty("condition").GetString());
        Assert.Equal("3", failure.GetProperty("KinesisBatchInfo").GetProperty("startSequenceNumber").GetString());
        Assert.Equal(1, failure.GetProperty("KinesisBatchInfo").GetProperty("batchSize").GetInt32());
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Nats_stream_discards_records_past_the_maximum_age()
    {
        await PublishAsync("old");
        var function = new TestFunction();
        // The poller's clock is 2 minutes ahead, so the record is 2 minutes old for a 60-second maximum age.
        var clock = new ShiftedClock(TimeSpan.FromMinutes(2));
        using var cts = Run(new Poller(() => new NatsStreamSource(nats.NatsUrl, "EVENTS", "esm-events", "default", SourceCredentials.None, new StartingPosition(StartingPosition.TrimHorizon)),
            Settings() with { MaximumRecordAgeInSeconds = 60 }, function, NullPollerObserver.Instance, clock));
        await Eventually.TrueAsync(async () => (await Count("FAILURES")) == 1, "the expired record in the failure destination");
        Assert.Equal("RecordAgeExceeded", (await FirstFailureAsync()).GetProperty("requestContext").GetProperty("condition").GetString());
        Assert.Empty(function.Batches);
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Nats_stream_keeps_order_across_retries_and_resumes_from_the_checkpoint_after_a_restart()
    {
        await PublishAsync("a", "b", "c");
        var fails = 2;
        var function = new TestFunction { Handler = doc => TestFunction.Bodies(doc).Contains("b") && fails-- > 0 ? TestFunction.Failures("2") : TestFunction.Ok() };
        var cts = Run(Poller(function, Settings(batchSize: 3) with { ReportBatchItemFailures = true }));
        await Eventually.TrueAsync(() => function.Bodies().SelectMany(b => b).Count(x => x == "c") == 3, "b,c retried twice then done");
        var kv = await new NATS.Client.KeyValueStore.NatsKVContext(js).GetStoreAsync(NatsStreamSource.CheckpointBucket);
        await Eventually.TrueAsync(async () => (await kv.GetEntryAsync<string>("esm-events")).Value == "3", "checkpoint past c");
        await Pollers.StopAsync(cts); // poller stopped (disabled / lost lease) and returned
        await PublishAsync("d", "e");
        var before = function.Batches.Count;
        using var again = Run(Poller(function, Settings(batchSize: 3) with { ReportBatchItemFailures = true }, StartingPosition.Latest));
        await Eventually.TrueAsync(() => function.Bodies().SelectMany(b => b).Contains("e"), "d and e after the restart");
        var all = function.Bodies();
        Assert.Equal(["a", "b", "c"], all[0]);
        Assert.Equal(["b", "c"], all[1]);
        Assert.Equal(["b", "c"], all[2]);
        Assert.Equal(["d", "e"], all.Skip(before).SelectMany(b => b)); // the checkpoint wins over LATEST; nothing replayed
        await Pollers.StopAsync(again);
        cts.Dispose();
    }

    [Fact]
    public async Task Nats_stream_keeps_each_partition_keys_order_across_retries()
    {
        foreach (var (key, v) in new[] { ("k1", "a1"), ("k2", "b1"), ("k1", "a2"), ("k2", "b2"), ("k1", "a3") })
        {
            (await js.PublishAsync("events.a", Encoding.UTF8.GetBytes(v), headers: new NatsHeaders { ["Partition-Key"] = key })).EnsureSuccess();
        }

        var failures = 2;
        var function = new TestFunction
        {
            // a2 (stream sequence 3) fails twice, reported as a batch item failure.
            Handler = doc => TestFunction.Bodies(doc).Contains("a2") && failures-- > 0 ? TestFunction.Failures("3") : TestFunction.Ok(),
        };
        using var cts = Run(Poller(function, Settings(batchSize: 5) with { ReportBatchItemFailures = true }));
        var kv = await WaitForBucketAsync();
        await Eventually.TrueAsync(() => function.Batches.Count == 3 && TryGet(kv, "esm-events") == "5", "done after two retries");

        // Each retry starts at the lowest failed record and keeps the stream order: per key, the records are always in
        // order and a record is never processed before an earlier record of its key.
        foreach (var batch in function.Batches)
        {
            var records = batch.RootElement.GetProperty("Records").EnumerateArray().Select(r => (Key: r.GetProperty("kinesis").GetProperty("partitionKey").GetString()!,
                Data: Encoding.UTF8.GetString(Convert.FromBase64String(r.GetProperty("kinesis").GetProperty("data").GetString()!)))).ToList();
            foreach (var key in new[] { "k1", "k2" })
            {
                var values = records.Where(r => r.Key == key).Select(r => r.Data).ToList();
                Assert.Equal(values.Order(StringComparer.Ordinal), values);
            }
        }

        Assert.Equal(["a1", "b1", "a2", "b2", "a3"], function.Bodies()[0]);
        Assert.Equal(["a2", "b2", "a3"], function.Bodies()[1]);
        Assert.Equal(["a2", "b2", "a3"], function.Bodies()[2]);
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Nats_stream_filters_per_record_and_moves_the_checkpoint_past_records_no_filter_matches()
    {
        await PublishAsync("""{"kind":"order","n":1}""", """{"kind":"refund"}""", "not json", """{"kind":"order","n":2}""", """{"kind":"order","n":"x"}""");
        var function = new TestFunction();
        var settings = Settings(batchSize: 10, window: 1) with
        {
            Filter = new RecordFilter(["""{"data":{"kind":["order"],"n":[{"numeric":[">",0]}]}}""", """{"data":{"kind":[{"anything-but":["order","refund"]}]}}"""]),
        };
        using var cts = Run(Poller(function, settings));
        await Eventually.TrueAsync(() => function.Bodies().Sum(b => b.Count) == 2, "the 2 matching records");
        var kv = await new NATS.Client.KeyValueStore.NatsKVContext(js).GetStoreAsync(NatsStreamSource.CheckpointBucket);
        await Eventually.TrueAsync(async () => (await kv.GetEntryAsync<string>("esm-events")).Value == "5", "checkpoint past the last (non-matching) record");
        Assert.Equal(["""{"kind":"order","n":1}""", """{"kind":"order","n":2}"""], function.Bodies().SelectMany(b => b)); // a non-JSON record never matches a JSON pattern
        Assert.Equal(["1", "4"], function.Batches.SelectMany(b => b.RootElement.GetProperty("Records").EnumerateArray()).Select(r => r.GetProperty("kinesis").GetProperty("sequenceNumber").GetString()));
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Nats_stream_parallelization_factor_runs_keys_concurrently_and_keeps_each_keys_order()
    {
        const int Factor = 3;
        var keys = Enumerable.Range(0, 100).Select(i => $"device-{i}").GroupBy(k => StreamLanes.Lane(k, Factor)).Select(g => g.First()).Take(Factor).ToList();
        Assert.Equal(Factor, keys.Count); // one key per lane
        foreach (var i in Enumerable.Range(0, 10))
        {
            foreach (var key in keys)
            {
                var headers = new NatsHeaders { ["Partition-Key"] = key };
                (await js.PublishAsync("events.a", Encoding.UTF8.GetBytes($"{key}:{i}"), headers: headers)).EnsureSuccess();
            }
        }

        var inFlight = 0;
        var maxInFlight = 0;
        var alongside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var function = new TestFunction
        {
            AsyncHandler = async _ =>
            {
                var now = Interlocked.Increment(ref inFlight);
                InterlockedMax(ref maxInFlight, now);
                if (now >= 2)
                {
                    alongside.TrySetResult();
                }

                // Hold the first batches until a second one runs alongside (bounded: a serial poller fails the assertion
                // below). The hold waits without a thread, so a busy thread pool cannot keep the second lane from starting.
                await Task.WhenAny(alongside.Task, Task.Delay(TimeSpan.FromSeconds(60)));
                Interlocked.Decrement(ref inFlight);
                return TestFunction.Ok();
            },
        };
        using var cts = Run(Poller(function, Settings(batchSize: 4, window: 1) with { ParallelizationFactor = Factor }));
        await Eventually.TrueAsync(() => function.Bodies().Sum(b => b.Count) == 30, "all 30 records", 120);

        Assert.True(maxInFlight >= 2, $"batches of different keys ran at once (max in flight {maxInFlight})");
        Assert.All(function.Bodies(), b => Assert.InRange(b.Count, 1, 4));
        Assert.All(function.Bodies(), b => Assert.Single(b.Select(x => x.Split(':')[0]).Distinct())); // one lane (here: one key) per batch
        foreach (var key in keys)
        {
            var seen = function.Bodies().SelectMany(b => b).Where(x => x.StartsWith(key + ":", StringComparison.Ordinal)).Select(x => int.Parse(x.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(Enumerable.Range(0, 10), seen);
        }

        var kv = await new NATS.Client.KeyValueStore.NatsKVContext(js).GetStoreAsync(NatsStreamSource.CheckpointBucket);
        await Eventually.TrueAsync(async () => (await kv.GetEntryAsync<string>("esm-events")).Value == "30", "checkpoint after the last round");
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Nats_stream_disabled_mapping_reads_nothing_and_re_enabled_resumes_from_the_checkpoint()
    {
        await PublishAsync("a", "b", "c");
        var function = new TestFunction();
        var cts = Run(Poller(function, Settings(batchSize: 10)));
        var kv = await WaitForBucketAsync();
        await Eventually.TrueAsync(() => TryGet(kv, "esm-events") == "3", "checkpoint past c");
        await Pollers.StopAsync(cts); // enabled: false: the worker's poller is cancelled and has returned

        await PublishAsync("d", "e");
        Assert.Equal("3", TryGet(kv, "esm-events")); // the position stays where the poller left it
        Assert.Equal(5, await Count("EVENTS"));
        Assert.Equal(["a", "b", "c"], function.Bodies().SelectMany(b => b));

        var before = function.Batches.Count;
        using var again = Run(Poller(function, Settings(batchSize: 10)));
        await Eventually.TrueAsync(() => TryGet(kv, "esm-events") == "5", "checkpoint past e after re-enabling");
        var resumed = function.Batches.Skip(before).SelectMany(b => b.RootElement.GetProperty("Records").EnumerateArray())
            .Select(r => r.GetProperty("kinesis").GetProperty("sequenceNumber").GetString()).ToList();
        Assert.Equal(["4", "5"], resumed); // nothing at or before the checkpoint again
        Assert.Equal(["d", "e"], function.Bodies().Skip(before).SelectMany(b => b));
        await Pollers.StopAsync(again);
        cts.Dispose();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    [Fact]
    public async Task Nats_stream_starting_positions_latest_and_at_timestamp()
    {
        await PublishAsync("before");
        var stored = await (await js.GetStreamAsync("EVENTS")).GetAsync(new StreamMsgGetRequest { Seq = 1 });
        var at = stored.Message.Time.AddTicks(1); // just after "before" was stored
        await PublishAsync("after");
        var fromTimestamp = new TestFunction();
        var p = new Poller(() => new NatsStreamSource(nats.NatsUrl, "EVENTS", "ts", "default", SourceCredentials.None, new StartingPosition(StartingPosition.AtTimestamp, at)), Settings(), fromTimestamp, NullPollerObserver.Instance, TimeProvider.System);
        using var c1 = Run(p);
        await Eventually.TrueAsync(() => fromTimestamp.Batches.Count == 1, "AT_TIMESTAMP batch");
        Assert.Equal(["after"], fromTimestamp.Bodies()[0]);

        var latest = new TestFunction();
        var q = new Poller(() => new NatsStreamSource(nats.NatsUrl, "EVENTS", "latest", "default", SourceCredentials.None, new StartingPosition(StartingPosition.Latest)), Settings(), latest, NullPollerObserver.Instance, TimeProvider.System);
        using var c2 = Run(q);
        var latestKv = await WaitForBucketAsync();
        await Eventually.TrueAsync(() => TryGet(latestKv, "latest") == "2", "LATEST wrote its starting checkpoint (after the 2 existing records)");
        await PublishAsync("new");
        await Eventually.TrueAsync(() => latest.Batches.Count == 1, "LATEST batch");
        Assert.Equal(["new"], latest.Bodies()[0]);
        c1.Cancel();
        c2.Cancel();
    }

    private async Task<NATS.Client.KeyValueStore.INatsKVStore> WaitForBucketAsync()
    {
        var context = new NATS.Client.KeyValueStore.NatsKVContext(js);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return await context.GetStoreAsync(NatsStreamSource.CheckpointBucket);
            }
            catch (NatsJSApiException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private static string? TryGet(NATS.Client.KeyValueStore.INatsKVStore kv, string key)
    {
        try
        {
            return kv.GetEntryAsync<string>(key).AsTask().Result.Value;
        }
        catch (AggregateException e) when (e.InnerException is NATS.Client.KeyValueStore.NatsKVKeyNotFoundException)
        {
            return null;
        }
    }

    private async Task<long> Count(string stream) => (await js.GetStreamAsync(stream)).Info.State.Messages;

    private async Task<JsonElement> FirstFailureAsync()
    {
        var consumer = await js.CreateOrderedConsumerAsync("FAILURES");
        await foreach (var msg in consumer.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1, Expires = TimeSpan.FromSeconds(5) }))
        {
            return JsonDocument.Parse(msg.Data!).RootElement.Clone();
        }

        throw new InvalidOperationException("no failure record");
    }
}
