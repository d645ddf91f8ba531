using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Queue;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>What only the shared, durable queue does: several replicas, restarts of a gateway and of nats-server.</summary>
public sealed class JetStreamQueueTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static async Task<TestGateway> ReplicaAsync(Queue.JetStream.JetStreamOptions queue, GatewayOptions? options = null) =>
        await TestGateway.StartAsync((options ?? TestGateway.FastOptions) with { ClusterKey = TestGateway.ClusterKey, JetStream = queue });

    [Fact]
    public async Task Sync_caller_on_one_replica_is_answered_by_a_worker_pulling_from_the_other()
    {
        var queue = (await NatsServer.Shared).Options();
        await using var a = await ReplicaAsync(queue);
        await using var b = await ReplicaAsync(queue);
        var key = a.Add("shared");
        b.Add("shared");
        await using var worker = new TestWorker(b.BaseAddress, key, TestWorker.Echo, concurrency: 2);

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await a.Client.SendAsync(TestGateway.Invoke("shared", $$"""{"i":{{i}}}"""));
            return await response.Content.ReadAsStringAsync();
        }));

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $$"""{"i":{{i}}}"""), answers);
    }

    [Fact]
    public async Task Result_can_be_posted_to_a_replica_other_than_the_one_that_handed_the_invocation_out()
    {
        var queue = (await NatsServer.Shared).Options();
        await using var a = await ReplicaAsync(queue);
        await using var b = await ReplicaAsync(queue);
        var key = a.Add("cross");
        b.Add("cross");
        using var fromB = b.PullClient(key);
        using var toA = a.PullClient(key);
        var call = a.Client.SendAsync(TestGateway.Invoke("cross", "1"));
        var invocation = await LeaseAsync(fromB, key.Name);

        using var tampered = await PostResultAsync(toA, invocation, invocation.LeaseToken![..^2] + "xx", "\"tampered\"");
        using var posted = await PostResultAsync(toA, invocation, invocation.LeaseToken, "\"via a\"");
        using var response = await call;

        Assert.Equal(HttpStatusCode.NotFound, tampered.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        Assert.Equal("\"via a\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Invocation_running_longer_than_the_consumer_ack_wait_is_kept_leased_by_in_progress_acks_and_runs_once()
    {
        // The consumer's ack_wait is capped at MaxConsumerAckWait (15 s here); the function's lease is 60 s + margin, so
        // the replica that handed it out must keep it alive (+WPI, sent with at least 5 s to spare) while the worker holds
        // it for 40 s (over two and a half ack waits; without the keep-alive it is redelivered at 15 s and the worker's
        // second loop runs it again). The worker waits without holding a thread, so a busy thread pool (other test
        // classes run alongside) cannot delay the lease loop's tick past its margin.
        var queue = (await NatsServer.Shared).Options() with { MaxConsumerAckWait = TimeSpan.FromSeconds(15) };
        await using var gateway = await ReplicaAsync(queue);
        var key = gateway.Add("slow", new FnOperator.Api.FunctionSpec
        {
            TimeoutSeconds = 60,
            Async = new FnOperator.Api.AsyncSpec { Destinations = new FnOperator.Api.DestinationConfig { OnSuccess = new FnOperator.Api.Destination { Queue = "slow-done" } } },
        });
        await using var worker = TestWorker.WithAsyncHandler(gateway.BaseAddress, key, async inv =>
        {
            await Task.Delay(TimeSpan.FromSeconds(40));
            return (InvocationResult?)TestWorker.Ok(inv, "null");
        }, concurrency: 2);

        using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("slow", """{"long":true}""", "Event"));
        var record = await gateway.WaitForMessageAsync("slow-done", TimeSpan.FromSeconds(120));

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("Success", (string?)record["requestContext"]!["condition"]);
        Assert.Single(worker.Received);
        await TestWait.UntilAsync(() => gateway.App.Services.GetRequiredService<IInvocationQueue>().GetStats(key) == new QueueStats(0, 0, 0));
        Assert.Single(worker.Received);
        Assert.Empty(await gateway.ReceiveAsync("slow-done"));
    }

    [Fact]
    public async Task Events_accepted_by_a_gateway_survive_its_restart_and_run_exactly_once()
    {
        var queue = (await NatsServer.Shared).Options();
        var first = await ReplicaAsync(queue);
        var key = first.Add("durable");
        for (var i = 0; i < 20; i++)
        {
            using var accepted = await first.Client.SendAsync(TestGateway.Invoke("durable", $$"""{"i":{{i}}}""", "Event"));
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        await first.DisposeAsync();
        await using var second = await ReplicaAsync(queue);
        second.Add("durable");
        var ran = new ConcurrentDictionary<string, int>();
        await using var worker = new TestWorker(second.BaseAddress, key, inv =>
        {
            ran.AddOrUpdate(System.Text.Encoding.UTF8.GetString(inv.Payload), 1, (_, n) => n + 1);
            return TestWorker.Ok(inv, "null");
        });

        await TestWait.UntilAsync(() => ran.Count == 20);
        await TestWait.UntilAsync(() => second.App.Services.GetRequiredService<IInvocationQueue>().GetStats(key) == new QueueStats(0, 0, 0));
        Assert.All(ran.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task Event_published_twice_under_one_message_id_is_accepted_both_times_and_runs_once()
    {
        var queue = (await NatsServer.Shared).Options();
        await using var gateway = await ReplicaAsync(queue);
        var key = gateway.Add("twice");
        var invocations = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        var invocation = new Invocation
        {
            RequestId = Guid.NewGuid().ToString(),
            Namespace = key.Namespace,
            FunctionName = key.Name,
            Version = "$LATEST",
            InvokedFunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:twice",
            Type = InvocationType.Event,
            Payload = "{}"u8.ToArray(),
            AcceptedAt = DateTimeOffset.UtcNow,
        };
        var options = new EnqueueOptions(TimeSpan.FromSeconds(30));

        // As when the answer to the first publish was lost and the follow-up is published again.
        await invocations.EnqueueAsync(invocation, options, CancellationToken.None);
        await invocations.EnqueueAsync(invocation, options, CancellationToken.None);
        var ran = new ConcurrentDictionary<string, int>();
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv =>
        {
            ran.AddOrUpdate(inv.RequestId, 1, (_, n) => n + 1);
            return TestWorker.Ok(inv, "null");
        });

        await TestWait.UntilAsync(() => ran.ContainsKey(invocation.RequestId));
        await TestWait.UntilAsync(() => invocations.GetStats(key) == new QueueStats(0, 0, 0));
        Assert.Equal(1, ran[invocation.RequestId]);
    }

    [Fact]
    public async Task Depth_counts_every_accepted_event_at_once_though_a_counter_refresh_runs_beside_each_enqueue()
    {
        // Each enqueue asks for a refresh of the counters from JetStream, so one is under way while the next event is
        // published; a refresh that read the stream before the event was stored must not drop it from the depth, and
        // one that read it after must not count it twice.
        var queue = (await NatsServer.Shared).Options();
        await using var gateway = await ReplicaAsync(queue);
        var key = gateway.Add("counted");
        var invocations = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        for (var i = 1; i <= 100; i++)
        {
            using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("counted", $"{i}", "Event"));
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var depth = invocations.GetStats(key).Depth; // no worker: nothing leaves the queue
            Assert.True(depth == i, $"depth {depth} right after the 202 of event {i}");
        }

        await TestWait.UntilAsync(() => invocations.GetStats(key) == new QueueStats(100, 0, 0));
    }

    [Fact]
    public async Task Events_survive_a_nats_server_crash_and_no_event_is_accepted_while_it_is_down()
    {
        await using var server = await NatsServer.StartAsync();
        await using var gateway = await ReplicaAsync(server.Options());
        var key = gateway.Add("crash");
        for (var i = 0; i < 10; i++)
        {
            using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("crash", $"{i}", "Event"));
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        server.Kill();
        using var whileDown = await gateway.Client.SendAsync(TestGateway.Invoke("crash", "99", "Event"));
        await server.RestartAsync();
        var queue = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        await TestWait.UntilAsync(() => queue.GetStats(key).Depth == 10);
        var ran = new ConcurrentBag<string>();
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv =>
        {
            ran.Add(System.Text.Encoding.UTF8.GetString(inv.Payload));
            return TestWorker.Ok(inv, "null");
        });

        Assert.Equal(HttpStatusCode.InternalServerError, whileDown.StatusCode);
        await TestWait.UntilAsync(() => ran.Distinct().Count() >= 10 && queue.GetStats(key) == new QueueStats(0, 0, 0));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{i}"), ran.Distinct().Order(StringComparer.Ordinal).OrderBy(int.Parse));
    }

    [Fact]
    public async Task An_event_stored_after_its_caller_was_answered_500_never_runs()
    {
        // What a publish written to the connection just before an outage and replayed after the reconnect looks like in
        // the stream: the same message, stored after the accept-by time its gateway answered the caller 500 at.
        var options = (await NatsServer.Shared).Options();
        await using var gateway = await ReplicaAsync(options);
        var key = gateway.Add("late");
        await using var nats = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = options.Url });
        var js = new NATS.Client.JetStream.NatsJSContext(nats);
        async Task PublishAsync(string payload, DateTimeOffset acceptBy)
        {
            var invocation = new Invocation
            {
                RequestId = Guid.NewGuid().ToString(),
                Namespace = key.Namespace,
                FunctionName = key.Name,
                Version = "$LATEST",
                InvokedFunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:late",
                Type = InvocationType.Event,
                Payload = System.Text.Encoding.UTF8.GetBytes(payload),
                AcceptedAt = acceptBy.AddSeconds(-10),
            };
            var headers = new NATS.Client.Core.NatsHeaders { [Queue.JetStream.JetStreamNames.AcceptByHeader] = acceptBy.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture) };
            var ack = await js.PublishAsync(Queue.JetStream.JetStreamNames.Subject(options.SubjectPrefix, key, "$LATEST"), JsonSerializer.SerializeToUtf8Bytes(invocation, Json), headers: headers);
            Assert.Null(ack.Error);
        }

        await PublishAsync("\"late\"", DateTimeOffset.UtcNow.AddSeconds(-1));
        await PublishAsync("\"in-time\"", DateTimeOffset.UtcNow.AddSeconds(60)); // stored long before its accept-by time, even on a stalled machine
        var ran = new ConcurrentQueue<string>();
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv =>
        {
            ran.Enqueue(System.Text.Encoding.UTF8.GetString(inv.Payload));
            return TestWorker.Ok(inv, "null");
        });

        var queue = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        await TestWait.UntilAsync(() => ran.Contains("\"in-time\"") && queue.GetStats(key) == new QueueStats(0, 0, 0));
        Assert.Equal(["\"in-time\""], ran);
    }

    [Fact]
    public async Task Stopping_replica_stops_leasing_and_still_answers_its_waiting_caller()
    {
        var queue = (await NatsServer.Shared).Options();
        var a = await ReplicaAsync(queue, TestGateway.FastOptions with { ShutdownTimeout = TimeSpan.FromSeconds(60) });
        await using var b = await ReplicaAsync(queue);
        var key = a.Add("draining");
        b.Add("draining");
        using var fromB = b.PullClient(key);
        using var caller = new HttpClient { BaseAddress = a.BaseAddress };
        var call = caller.SendAsync(TestGateway.Invoke("draining", "7"));
        var invocation = await LeaseAsync(fromB, key.Name);

        var stopping = a.App.StopAsync();
        using var posted = await PostResultAsync(fromB, invocation, invocation.LeaseToken, "\"finished\"");
        using var response = await call;
        await stopping;
        await a.DisposeAsync();

        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        Assert.Equal("\"finished\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Work_arriving_for_a_version_at_zero_is_pushed_to_every_replica()
    {
        var queue = (await NatsServer.Shared).Options();
        await using var a = await ReplicaAsync(queue);
        await using var b = await ReplicaAsync(queue);
        var key = a.Add("cold");
        b.Add("cold");
        var arrivedAtB = b.App.Services.GetRequiredService<IInvocationQueue>().WaitForWorkAsync(key, CancellationToken.None);

        using var accepted = await a.Client.SendAsync(TestGateway.Invoke("cold", "{}", "Event"));

        await arrivedAtB.WaitAsync(TimeSpan.FromSeconds(60));
        await TestWait.UntilAsync(() => b.App.Services.GetRequiredService<IInvocationQueue>().GetStats(key).Depth == 1);
    }

    private static async Task<Invocation> LeaseAsync(HttpClient client, string name)
    {
        for (var i = 0; i < 60; i++)
        {
            using var response = await client.GetAsync(PullProtocol.NextPath("default", name, "$LATEST") + "?waitMs=1000");
            Assert.True(response.IsSuccessStatusCode, $"next answered {response.StatusCode}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return (await response.Content.ReadFromJsonAsync<Invocation>(Json))!;
            }
        }

        throw new TimeoutException("nothing leased");
    }

    private static Task<HttpResponseMessage> PostResultAsync(HttpClient client, Invocation invocation, string? lease, string payload)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(invocation.RequestId))
        {
            Content = JsonContent.Create(TestWorker.Ok(invocation, payload), options: Json),
        };
        request.Headers.Add(PullProtocol.LeaseTokenHeader, lease);
        return client.SendAsync(request);
    }
}
