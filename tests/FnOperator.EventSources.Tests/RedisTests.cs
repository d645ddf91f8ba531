using System.Text;
using FnOperator.Api;
using FnOperator.EventSources.Sources;
using StackExchange.Redis;

namespace FnOperator.EventSources.Tests;

public sealed class RedisTests : IAsyncLifetime
{
    private ServerProcess server = null!;
    private ConnectionMultiplexer redis = null!;

    private IDatabase Db => redis.GetDatabase();

    public async Task InitializeAsync()
    {
        server = await ServerProcess.RedisAsync();
        redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}");
    }

    public async Task DisposeAsync()
    {
        await redis.DisposeAsync();
        await server.DisposeAsync();
    }

    private static CancellationTokenSource Run(Poller poller)
    {
        var cts = new CancellationTokenSource();
        _ = Task.Run(() => poller.RunAsync(cts.Token));
        return cts;
    }

    private Poller ListPoller(TestFunction function, PollerSettings settings) =>
        new(() => new RedisListSource(server.RedisUrl, "jobs", "esm-jobs", "default", SourceCredentials.None, TimeProvider.System), settings, function, NullPollerObserver.Instance, TimeProvider.System);

    private Poller StreamPoller(TestFunction function, PollerSettings settings, string start = StartingPosition.TrimHorizon) =>
        new(() => new RedisStreamSource(server.RedisUrl, "clicks", "esm-clicks", "default", SourceCredentials.None, new StartingPosition(start), TimeProvider.System), settings, function, NullPollerObserver.Instance, TimeProvider.System);

    private static PollerSettings Settings(int batchSize = 10, int window = 1) => new()
    {
        FunctionName = "default/f", BatchSize = batchSize, BatchingWindow = TimeSpan.FromSeconds(window), MaximumConcurrency = 1,
        OnFailure = new Destination { Queue = "dead" },
    };

    [Fact]
    public async Task Redis_list_batches_by_size_in_fifo_order_and_filters()
    {
        foreach (var body in new[] { "j1", "j2", "skip", "j3", "j4" })
        {
            await Db.ListLeftPushAsync("jobs", body);
        }

        var function = new TestFunction();
        using var cts = Run(ListPoller(function, Settings(batchSize: 2) with { Filter = new RecordFilter(["""{"body":[{"prefix":"j"}]}"""]) }));
        await Eventually.TrueAsync(() => function.Bodies().Sum(b => b.Count) == 4, "4 matching jobs");
        Assert.Equal(["j1", "j2", "j3", "j4"], function.Bodies().SelectMany(b => b));
        Assert.All(function.Bodies(), b => Assert.True(b.Count <= 2));
        await Eventually.TrueAsync(() => Db.ListLength("jobs") == 0 && Db.ListLength("jobs:fnop:esm-jobs:processing") == 0, "all removed");
        var r = function.Batches.First().RootElement.GetProperty("Records")[0];
        Assert.Equal("arn:fnoperator:redis:local:default:queue/jobs", r.GetProperty("eventSourceARN").GetString());
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Redis_list_event_has_the_sqs_shape_field_by_field()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await Db.ListLeftPushAsync("jobs", """{"job":7}""");
        var function = new TestFunction();
        using var cts = Run(ListPoller(function, Settings()));
        await Eventually.TrueAsync(() => function.Batches.Count == 1, "a batch");
        var after = DateTimeOffset.UtcNow.AddSeconds(1);
        Assert.Equal(["Records"], function.Batches.First().RootElement.EnumerateObject().Select(p => p.Name));
        var r = Assert.Single(function.Batches.First().RootElement.GetProperty("Records").EnumerateArray());
        // A list has no send time: SentTimestamp is when the poller took the message.
        LambdaShapes.AssertSqsRecord(r, """{"job":7}""", "arn:fnoperator:redis:local:default:queue/jobs", "redis", 1, before, after);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("""{"job":7}""")))[..32], r.GetProperty("messageId").GetString());
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Redis_stream_event_has_the_kinesis_shape_field_by_field()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var id = (await Db.StreamAddAsync("clicks", [new NameValueEntry("data", """{"click":1}"""), new NameValueEntry("partitionKey", "user-9")]))!;
        var after = DateTimeOffset.UtcNow.AddSeconds(1);
        var function = new TestFunction();
        using var cts = Run(StreamPoller(function, Settings()));
        await Eventually.TrueAsync(() => function.Batches.Count == 1, "a batch");
        Assert.Equal(["Records"], function.Batches.First().RootElement.EnumerateObject().Select(p => p.Name));
        var r = Assert.Single(function.Batches.First().RootElement.GetProperty("Records").EnumerateArray());
        LambdaShapes.AssertKinesisRecord(r, """{"click":1}""", "user-9", id.ToString(), "arn:fnoperator:redis:local:default:stream/clicks", "default", before, after);
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Redis_list_filters_json_and_plain_bodies_in_a_partly_matching_batch_and_removes_the_rest()
    {
        foreach (var body in new[] { """{"kind":"order","total":150}""", """{"kind":"order","total":5}""", "PING", "pong", """{"kind":"refund"}""" })
        {
            await Db.ListLeftPushAsync("jobs", body);
        }

        var function = new TestFunction();
        var settings = Settings(batchSize: 10) with
        {
            Filter = new RecordFilter(["""{"body":{"kind":["order"],"total":[{"numeric":[">=",100]}]}}""", """{"body":[{"equals-ignore-case":"ping"}]}"""]),
        };
        using var cts = Run(ListPoller(function, settings));
        await Eventually.TrueAsync(() => function.Bodies().Sum(b => b.Count) == 2, "the 2 matching messages");
        await Eventually.TrueAsync(() => Db.ListLength("jobs") == 0 && Db.ListLength("jobs:fnop:esm-jobs:processing") == 0, "non-matching removed too");
        Assert.Equal(["""{"kind":"order","total":150}""", "PING"], function.Bodies().SelectMany(b => b));
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Redis_stream_filters_per_record_json_data_only_and_acks_the_rest()
    {
        foreach (var v in new[] { """{"temp":31}""", "31", """{"temp":12}""", """{"temp":40,"unit":"C"}""" })
        {
            await Db.StreamAddAsync("clicks", [new NameValueEntry("data", v), new NameValueEntry("partitionKey", "sensor-1")]);
        }

        var function = new TestFunction();
        using var cts = Run(StreamPoller(function, Settings() with { Filter = new RecordFilter(["""{"data":{"temp":[{"numeric":[">=",30]}]},"partitionKey":[{"prefix":"sensor"}]}"""]) }));
        await Eventually.TrueAsync(() => function.Bodies().Sum(b => b.Count) == 2, "the 2 matching records");
        await Eventually.TrueAsync(async () => Db.KeyExists("clicks") && Db.StreamGroupInfo("clicks").Length == 1 && (await Db.StreamPendingAsync("clicks", "esm-clicks")).PendingMessageCount == 0, "all acked, matching or not");
        Assert.Equal(["""{"temp":31}""", """{"temp":40,"unit":"C"}"""], function.Bodies().SelectMany(b => b)); // "31" is not JSON: a JSON pattern never matches it
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Redis_stream_keeps_each_keys_order_across_retries()
    {
        foreach (var (key, v) in new[] { ("k1", "a1"), ("k2", "b1"), ("k1", "a2"), ("k2", "b2"), ("k1", "a3") })
        {
            await Db.StreamAddAsync("clicks", [new NameValueEntry("data", v), new NameValueEntry("partitionKey", key)]);
        }

        var failures = 2;
        var function = new TestFunction
        {
            Handler = doc => TestFunction.Bodies(doc).Contains("a2") && failures-- > 0
                ? TestFunction.Failures([.. doc.RootElement.GetProperty("Records").EnumerateArray().Where(r => r.GetProperty("kinesis").GetProperty("partitionKey").GetString() == "k1"
                    && Encoding.UTF8.GetString(Convert.FromBase64String(r.GetProperty("kinesis").GetProperty("data").GetString()!)) == "a2").Select(r => r.GetProperty("kinesis").GetProperty("sequenceNumber").GetString()!)])
                : TestFunction.Ok(),
        };
        using var cts = Run(StreamPoller(function, Settings(batchSize: 5) with { ReportBatchItemFailures = true }));
        await Eventually.TrueAsync(async () => function.Batches.Count == 3 && (await Db.StreamPendingAsync("clicks", "esm-clicks")).PendingMessageCount == 0, "done after two retries");

        // Each invocation starts at the lowest failed record and keeps the stream order, so per key the records a
        // function sees are always in order, and a record is never processed before an earlier record of its key.
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
    }

    [Fact]
    public async Task Redis_stream_parallelization_factor_keeps_each_keys_order_and_acks_every_round()
    {
        const int Factor = 2;
        var keys = Enumerable.Range(0, 100).Select(i => $"user-{i}").GroupBy(k => StreamLanes.Lane(k, Factor)).Select(g => g.First()).ToList();
        Assert.Equal(Factor, keys.Count);
        foreach (var i in Enumerable.Range(0, 8))
        {
            foreach (var key in keys)
            {
                await Db.StreamAddAsync("clicks", [new NameValueEntry("data", $"{key}:{i}"), new NameValueEntry("partitionKey", key)]);
            }
        }

        var failedOnce = 0;
        var function = new TestFunction
        {
            // The first batch with user-x:3 fails once: its lane retries it; the other lane is unaffected.
            Handler = doc => TestFunction.Bodies(doc).Any(b => b.EndsWith(":3", StringComparison.Ordinal)) && Interlocked.Exchange(ref failedOnce, 1) == 0 ? TestFunction.Error() : TestFunction.Ok(),
        };
        using var cts = Run(StreamPoller(function, Settings(batchSize: 3) with { ParallelizationFactor = Factor }));
        await Eventually.TrueAsync(() => function.Bodies().SelectMany(b => b).Distinct().Count() == 16, "all 16 records");
        await Eventually.TrueAsync(async () => (await Db.StreamPendingAsync("clicks", "esm-clicks")).PendingMessageCount == 0, "every round acked");

        Assert.All(function.Bodies(), b => Assert.Single(b.Select(x => x.Split(':')[0]).Distinct()));
        foreach (var key in keys)
        {
            // Per key, in invocation order: each record appears only after all earlier ones (a retried batch repeats, never skips).
            var seen = function.Bodies().SelectMany(b => b).Where(x => x.StartsWith(key + ":", StringComparison.Ordinal)).Select(x => int.Parse(x.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            var highest = -1;
            foreach (var n in seen)
            {
                Assert.True(n <= highest + 1, $"{key}: record {n} before {highest + 1}");
                highest = Math.Max(highest, n);
            }

            Assert.Equal(7, highest);
        }
    }

    [Fact]
    public async Task Redis_list_redelivers_reported_failures_and_dead_letters_after_the_limit()
    {
        await Db.ListLeftPushAsync("jobs", "good");
        await Db.ListLeftPushAsync("jobs", "bad");
        var function = new TestFunction
        {
            Handler = doc => TestFunction.Failures([.. doc.RootElement.GetProperty("Records").EnumerateArray()
                .Where(x => x.GetProperty("body").GetString() == "bad").Select(x => x.GetProperty("messageId").GetString()!)]),
        };
        using var cts = Run(ListPoller(function, Settings() with { ReportBatchItemFailures = true, MaximumRetryAttempts = 1 }));
        await Eventually.TrueAsync(() => Db.ListLength("dead") == 1, "bad in the dead-letter list");
        Assert.Equal("bad", (string?)Db.ListGetByIndex("dead", 0));
        Assert.Equal(1, function.Bodies().SelectMany(b => b).Count(b => b == "good"));
        Assert.Equal(2, function.Bodies().SelectMany(b => b).Count(b => b == "bad")); // first delivery + 1 retry
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Redis_list_messages_left_in_processing_by_a_killed_poller_are_redelivered()
    {
        await Db.ListLeftPushAsync("jobs", "orphan");
        await Db.ListMoveAsync("jobs", "jobs:fnop:esm-jobs:processing", ListSide.Right, ListSide.Left); // as a poller killed mid-batch leaves it
        var function = new TestFunction();
        using var cts = Run(ListPoller(function, Settings()));
        await Eventually.TrueAsync(() => function.Batches.Count == 1, "the orphan delivered");
        Assert.Equal(["orphan"], function.Bodies()[0]);
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Redis_stream_bisects_to_the_poison_record_and_resumes_from_the_group_after_restart()
    {
        foreach (var v in new[] { "a", "b", "poison", "d" })
        {
            await Db.StreamAddAsync("clicks", [new NameValueEntry("data", v), new NameValueEntry("partitionKey", "user-1")]);
        }

        var function = new TestFunction { Handler = doc => TestFunction.Bodies(doc).Contains("poison") ? TestFunction.Error() : TestFunction.Ok() };
        var cts = Run(StreamPoller(function, Settings() with { BisectBatchOnFunctionError = true, MaximumRetryAttempts = 0 }));
        await Eventually.TrueAsync(() => Db.ListLength("dead") == 1, "failure record");
        // The failure record is written when [poison] alone fails; [d], its bisected sibling, is invoked after that
        // (the batch [poison, d] before them holds d too: the wait is for d without the poison record).
        await Eventually.TrueAsync(() => function.Bodies().Any(b => b.Contains("d") && !b.Contains("poison")), "d delivered after the poison record");
        Assert.Equal(["a", "b", "d"], function.Bodies().Where(b => !b.Contains("poison")).SelectMany(b => b));
        var failure = System.Text.Json.JsonDocument.Parse((string)Db.ListGetByIndex("dead", 0)!).RootElement;
        Assert.Equal(1, failure.GetProperty("KinesisBatchInfo").GetProperty("batchSize").GetInt32());
        Assert.Equal("user-1", function.Batches.First().RootElement.GetProperty("Records")[0].GetProperty("kinesis").GetProperty("partitionKey").GetString());
        await Eventually.TrueAsync(async () => (await Db.StreamPendingAsync("clicks", "esm-clicks")).PendingMessageCount == 0, "all acked");
        await cts.CancelAsync();

        await Db.StreamAddAsync("clicks", [new NameValueEntry("data", "e")]);
        var before = function.Batches.Count;
        using var again = Run(StreamPoller(function, Settings()));
        await Eventually.TrueAsync(() => function.Batches.Count > before, "e after the restart");
        Assert.Equal(["e"], function.Bodies().Skip(before).SelectMany(b => b));
        await Pollers.StopAsync(again);
        cts.Dispose();
    }

    [Fact]
    public async Task Redis_list_disabled_mapping_pops_nothing_and_re_enabled_delivers_exactly_the_waiting_jobs()
    {
        await Db.ListLeftPushAsync("jobs", "j1");
        var function = new TestFunction();
        var cts = Pollers.Start(ListPoller(function, Settings()));
        await Eventually.TrueAsync(() => function.Batches.Count == 1 && Db.ListLength("jobs:fnop:esm-jobs:processing") == 0, "j1 delivered and removed");
        await Pollers.StopAsync(cts); // enabled: false: the worker's poller is cancelled and has returned

        await Db.ListLeftPushAsync("jobs", "j2");
        await Db.ListLeftPushAsync("jobs", "j3");
        Assert.Equal(2, await Db.ListLengthAsync("jobs")); // both still in the list
        Assert.Equal(0, await Db.ListLengthAsync("jobs:fnop:esm-jobs:processing")); // none taken into processing
        Assert.Equal(["j1"], function.Bodies().SelectMany(b => b));

        using var again = Pollers.Start(ListPoller(function, Settings()));
        await Eventually.TrueAsync(() => function.Bodies().Sum(b => b.Count) == 3 && Db.ListLength("jobs") == 0 && Db.ListLength("jobs:fnop:esm-jobs:processing") == 0, "j2 and j3 after re-enabling");
        Assert.Equal(["j1", "j2", "j3"], function.Bodies().SelectMany(b => b)); // each once, in FIFO order
        await Pollers.StopAsync(again);
        cts.Dispose();
    }

    [Fact]
    public async Task Redis_stream_disabled_mapping_reads_nothing_and_re_enabled_resumes_after_the_groups_last_delivered_id()
    {
        var ids = new List<string>();
        foreach (var v in new[] { "a", "b", "c" })
        {
            ids.Add((await Db.StreamAddAsync("clicks", [new NameValueEntry("data", v), new NameValueEntry("partitionKey", "user-1")]))!);
        }

        var function = new TestFunction();
        var cts = Pollers.Start(StreamPoller(function, Settings()));
        await Eventually.TrueAsync(async () => function.Bodies().Sum(b => b.Count) == 3 && (await Db.StreamPendingAsync("clicks", "esm-clicks")).PendingMessageCount == 0, "a, b, c delivered and acked");
        await Pollers.StopAsync(cts); // enabled: false: the worker's poller is cancelled and has returned

        foreach (var v in new[] { "d", "e" })
        {
            ids.Add((await Db.StreamAddAsync("clicks", [new NameValueEntry("data", v), new NameValueEntry("partitionKey", "user-1")]))!);
        }

        var group = Assert.Single(await Db.StreamGroupInfoAsync("clicks"));
        Assert.Equal(ids[2], group.LastDeliveredId); // the group's position stays at c
        Assert.Equal(0, group.PendingMessageCount); // nothing read and held
        Assert.Equal(5, await Db.StreamLengthAsync("clicks"));
        Assert.Equal(["a", "b", "c"], function.Bodies().SelectMany(b => b));

        var before = function.Batches.Count;
        using var again = Pollers.Start(StreamPoller(function, Settings()));
        await Eventually.TrueAsync(async () => function.Bodies().Sum(b => b.Count) == 5 && (await Db.StreamPendingAsync("clicks", "esm-clicks")).PendingMessageCount == 0, "d and e after re-enabling");
        var resumed = function.Batches.Skip(before).SelectMany(b => b.RootElement.GetProperty("Records").EnumerateArray())
            .Select(r => r.GetProperty("kinesis").GetProperty("sequenceNumber").GetString()!).ToList();
        Assert.Equal(ids[3..], resumed); // nothing at or before the checkpoint again
        Assert.Equal(["d", "e"], function.Bodies().Skip(before).SelectMany(b => b));
        Assert.Equal(ids[4], Assert.Single(await Db.StreamGroupInfoAsync("clicks")).LastDeliveredId);
        await Pollers.StopAsync(again);
        cts.Dispose();
    }

    [Fact]
    public async Task Redis_stream_discards_records_past_the_maximum_age_to_the_failure_destination_and_delivers_the_rest()
    {
        var oldId = $"{DateTimeOffset.UtcNow.AddMinutes(-2).ToUnixTimeMilliseconds()}-0"; // an entry ID is its arrival time: 2 minutes old
        await Db.StreamAddAsync("clicks", [new NameValueEntry("data", "old"), new NameValueEntry("partitionKey", "user-1")], messageId: oldId);
        await Db.StreamAddAsync("clicks", [new NameValueEntry("data", "fresh"), new NameValueEntry("partitionKey", "user-1")]);
        var function = new TestFunction();
        var cts = Pollers.Start(StreamPoller(function, Settings() with { MaximumRecordAgeInSeconds = 60 }));
        await Eventually.TrueAsync(() => Db.ListLength("dead") == 1 && function.Batches.Count == 1, "the old record discarded and the fresh one delivered");
        await Eventually.TrueAsync(async () => (await Db.StreamPendingAsync("clicks", "esm-clicks")).PendingMessageCount == 0, "both acked");
        Assert.Equal(["fresh"], function.Bodies().SelectMany(b => b));
        var failure = System.Text.Json.JsonDocument.Parse((string)Db.ListGetByIndex("dead", 0)!).RootElement;
        Assert.Equal("RecordAgeExceeded", failure.GetProperty("requestContext").GetProperty("condition").GetString());
        Assert.Equal(oldId, failure.GetProperty("KinesisBatchInfo").GetProperty("startSequenceNumber").GetString());
        Assert.Equal(1, failure.GetProperty("KinesisBatchInfo").GetProperty("batchSize").GetInt32());
        await Pollers.StopAsync(cts);
    }

    [Fact]
    public async Task Redis_stream_starting_positions_trim_horizon_latest_and_at_timestamp()
    {
        var t = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeMilliseconds();
        await Db.StreamAddAsync("clicks", [new NameValueEntry("data", "old")], messageId: $"{t}-0");
        await Db.StreamAddAsync("clicks", [new NameValueEntry("data", "at")], messageId: $"{t + 5000}-0");
        await Db.StreamAddAsync("clicks", [new NameValueEntry("data", "later")], messageId: $"{t + 6000}-0");

        Poller Starting(TestFunction f, string group, StartingPosition position, IPollerObserver observer) =>
            new(() => new RedisStreamSource(server.RedisUrl, "clicks", group, "default", SourceCredentials.None, position, TimeProvider.System), Settings(), f, observer, TimeProvider.System);

        var horizon = new TestFunction();
        using var a = Run(Starting(horizon, "horizon", new StartingPosition(StartingPosition.TrimHorizon), NullPollerObserver.Instance));
        var atTimestamp = new TestFunction();
        using var b = Run(Starting(atTimestamp, "at", new StartingPosition(StartingPosition.AtTimestamp, DateTimeOffset.FromUnixTimeMilliseconds(t + 5000)), NullPollerObserver.Instance));
        var latest = new TestFunction();
        var connected = new CountingObserver();
        using var c = Run(Starting(latest, "latest", new StartingPosition(StartingPosition.Latest), connected));
        await Eventually.TrueAsync(() => connected.Connects > 0, "the LATEST group created");
        await Db.StreamAddAsync("clicks", [new NameValueEntry("data", "new")]);

        await Eventually.TrueAsync(() => horizon.Bodies().Sum(x => x.Count) == 4 && atTimestamp.Bodies().Sum(x => x.Count) == 3 && latest.Bodies().Sum(x => x.Count) == 1, "every group read to the end");
        Assert.Equal(["old", "at", "later", "new"], horizon.Bodies().SelectMany(x => x));
        Assert.Equal(["at", "later", "new"], atTimestamp.Bodies().SelectMany(x => x)); // the entry at the timestamp itself included
        Assert.Equal(["new"], latest.Bodies().SelectMany(x => x));
        foreach (var cts in new[] { a, b, c })
        {
            await cts.CancelAsync();
        }
    }

    [Fact]
    public async Task Redis_stream_rereads_pending_entries_of_a_killed_poller_in_order()
    {
        await Db.StreamCreateConsumerGroupAsync("clicks", "esm-clicks", "0", createStream: true);
        foreach (var v in new[] { "p1", "p2" })
        {
            await Db.StreamAddAsync("clicks", [new NameValueEntry("data", v)]);
        }

        await Db.StreamReadGroupAsync("clicks", "esm-clicks", "poller", ">", 10); // delivered, never acked: the poller died
        await Db.StreamAddAsync("clicks", [new NameValueEntry("data", "p3")]);
        var function = new TestFunction();
        using var cts = Run(StreamPoller(function, Settings()));
        await Eventually.TrueAsync(() => function.Bodies().Sum(b => b.Count) == 3, "3 records");
        Assert.Equal(["p1", "p2", "p3"], function.Bodies().SelectMany(b => b));
        await Pollers.StopAsync(cts);
    }
}
