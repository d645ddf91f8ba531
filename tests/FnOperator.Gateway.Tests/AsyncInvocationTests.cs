using System.Net;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;
using FnOperator.Gateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace FnOperator.Gateway.Tests;

public sealed class AsyncInvocationTests
{
    private static FunctionSpec Spec(int retries, DestinationConfig? destinations = null, int maxAge = 21600) => new()
    {
        TimeoutSeconds = 3,
        Async = new AsyncSpec { MaximumRetryAttempts = retries, MaximumEventAgeSeconds = maxAge, Destinations = destinations },
    };

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Failing_event_is_retried_twice_then_sent_to_the_on_failure_queue_with_retries_exhausted(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("flaky", Spec(2, new DestinationConfig { OnFailure = new Destination { Queue = "failures" } }));
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Fail(inv, $"attempt {inv.Attempt}"));

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("flaky", """{"order":7}""", "Event"));
        var record = await gateway.WaitForMessageAsync("failures");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var requestId = response.Headers.GetValues("x-amzn-RequestId").Single();
        Assert.Equal([1, 2, 3], worker.Received.Select(i => i.Attempt));
        Assert.All(worker.Received, i => Assert.Equal(requestId, i.RequestId));
        Assert.Equal("1.0", (string?)record["version"]);
        Assert.Equal(requestId, (string?)record["requestContext"]!["requestId"]);
        Assert.Equal("RetriesExhausted", (string?)record["requestContext"]!["condition"]);
        Assert.Equal(3, (int)record["requestContext"]!["approximateInvokeCount"]!);
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:flaky:$LATEST", (string?)record["requestContext"]!["functionArn"]);
        Assert.Equal(7, (int)record["requestPayload"]!["order"]!);
        Assert.Equal("Unhandled", (string?)record["responseContext"]!["functionError"]);
        Assert.Equal("attempt 3", (string?)record["responsePayload"]!["errorMessage"]);
        Assert.Empty(await gateway.ReceiveAsync("default.flaky.dlq"));
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Failing_event_without_on_failure_destination_lands_on_the_function_dead_letter_queue(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("once", Spec(0), ns: "team");
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Fail(inv));

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("team.once", "{}", "Event"));
        var record = await gateway.WaitForMessageAsync("team.once.dlq");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Single(worker.Received);
        Assert.Equal("RetriesExhausted", (string?)record["requestContext"]!["condition"]);
        Assert.Equal(1, (int)record["requestContext"]!["approximateInvokeCount"]!);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Event_that_fails_then_succeeds_goes_to_on_success_destination_function_with_the_record(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("second-time", Spec(2, new DestinationConfig { OnSuccess = new Destination { Function = "collector" } }));
        var collector = gateway.Add("collector");
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv => inv.Attempt == 1 ? TestWorker.Fail(inv) : TestWorker.Ok(inv, """{"done":true}"""));
        var records = new TaskCompletionSource<Invocation>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var collectorWorker = new TestWorker(gateway.BaseAddress, collector, inv =>
        {
            records.TrySetResult(inv);
            return TestWorker.Ok(inv, "null");
        });

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("second-time", """{"x":1}""", "Event"));
        var delivered = await records.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(InvocationType.Event, delivered.Type);
        var record = JsonNode.Parse(delivered.Payload)!;
        Assert.Equal("Success", (string?)record["requestContext"]!["condition"]);
        Assert.Equal(2, (int)record["requestContext"]!["approximateInvokeCount"]!);
        Assert.Equal(200, (int)record["responseContext"]!["statusCode"]!);
        Assert.True((bool)record["responsePayload"]!["done"]!);
        Assert.Equal(1, (int)record["requestPayload"]!["x"]!);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Event_older_than_maximum_event_age_is_not_run_and_goes_to_failure_with_event_age_exceeded(QueueKind kind)
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var gateway = await TestGateway.StartAsync(time: time, queue: kind);
        var key = gateway.Add("stale", Spec(2, new DestinationConfig { OnFailure = new Destination { Queue = "expired" } }, maxAge: 60));

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("stale", """{"old":true}""", "Event"));
        time.Advance(TimeSpan.FromSeconds(61));
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Ok(inv, "null"));
        var record = await gateway.WaitForMessageAsync("expired");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Empty(worker.Received);
        Assert.Equal("EventAgeExceeded", (string?)record["requestContext"]!["condition"]);
        Assert.Equal(0, (int)record["requestContext"]!["approximateInvokeCount"]!);
        Assert.True((bool)record["requestPayload"]!["old"]!);
        Assert.Null(record["responseContext"]);
    }

    [Fact]
    public async Task Event_that_no_worker_can_take_still_reaches_the_dead_letter_queue_when_it_ages_out()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var gateway = await TestGateway.StartAsync(time: time);
        var spec = Spec(2, maxAge: 60);
        spec.Concurrency = new ConcurrencySpec { Reserved = 0 };
        var key = gateway.Add("blocked", spec);
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Ok(inv, "null"));

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("blocked", """{"never":"runs"}""", "Event"));
        var queue = gateway.App.Services.GetRequiredService<FnOperator.Gateway.Queue.IInvocationQueue>();
        Assert.Equal(1, queue.GetStats(key).Depth);
        time.Advance(TimeSpan.FromSeconds(61));
        var record = await gateway.WaitForMessageAsync("default.blocked.dlq");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Empty(worker.Received);
        Assert.Equal("EventAgeExceeded", (string?)record["requestContext"]!["condition"]);
        Assert.Equal(0, (int)record["requestContext"]!["approximateInvokeCount"]!);
        Assert.Equal(0, queue.GetStats(key).Depth);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Sync_invocation_whose_worker_dies_is_answered_with_an_error_and_not_run_a_second_time(QueueKind kind)
    {
        // Two mechanisms answer a caller whose worker is gone: the queue's lease expiry (Runtime.ExitError) at the lease
        // (timeout + margin) and the caller's own backstop (Sandbox.Timedout) one margin later. With the test default's
        // 0.5 s margin a sweep delayed that long on a loaded machine let the backstop win (clean-clone CI, in-memory
        // queue); a 5 s margin keeps the in-memory order deterministic.
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, TimeoutMargin = TimeSpan.FromSeconds(5) }, queue: kind);
        var key = gateway.Add("fragile", new FunctionSpec { TimeoutSeconds = 1 });
        await using var worker = new TestWorker(gateway.BaseAddress, key, _ => null);

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("fragile"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        // Give a wrongly redelivered copy time to reach the worker before counting.
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Unhandled", response.Headers.GetValues("X-Amz-Function-Error").Single());
        // The lost lease answers Runtime.ExitError; with JetStream the loss is seen only when the server redelivers after
        // the ack wait, and when that comes later than the caller's own backstop (the lease + TimeoutMargin, as on a
        // loaded machine) the caller is answered Sandbox.Timedout instead. Either way: an error, and never a second run.
        string[] expected = kind == QueueKind.InMemory ? [LeaseLost.ErrorType] : [LeaseLost.ErrorType, "Sandbox.Timedout"];
        Assert.Contains((string?)body["errorType"], expected);
        Assert.Single(worker.Received);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Event_whose_worker_dies_mid_invocation_is_redelivered_after_its_lease_expires(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("fragile-async", new FunctionSpec
        {
            TimeoutSeconds = 1,
            Async = new AsyncSpec { Destinations = new DestinationConfig { OnSuccess = new Destination { Queue = "fragile-done" } } },
        });
        var calls = 0;
        var second = new TaskCompletionSource<Invocation>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lateAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = TestWorker.WithAsyncHandler(gateway.BaseAddress, key, async inv =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                return null;
            }

            // The redelivery's lease stays open until the late result has its answer: the stale token is refused
            // while the message is still leased, not only after the redelivery completed it.
            second.TrySetResult(inv);
            await lateAnswered.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return TestWorker.Ok(inv, "null");
        });

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("fragile-async", "{}", "Event"));
        var redelivered = await second.Task.WaitAsync(TimeSpan.FromSeconds(60));
        // The first worker comes back late with a result for its expired lease: refused, not a second terminal record.
        var first = worker.Received.First();
        using var pull = gateway.PullClient(key);
        using var late = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(first.RequestId))
        {
            Content = System.Net.Http.Json.JsonContent.Create(TestWorker.Ok(first, "\"late\""), options: new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)),
        };
        late.Headers.Add(PullProtocol.LeaseTokenHeader, first.LeaseToken);
        using var lateResponse = await pull.SendAsync(late);
        lateAnswered.TrySetResult();
        var record = await gateway.WaitForMessageAsync("fragile-done");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(first.RequestId, redelivered.RequestId);
        Assert.Equal(1, redelivered.Attempt);
        Assert.NotEqual(first.LeaseToken, redelivered.LeaseToken);
        Assert.Equal(HttpStatusCode.NotFound, lateResponse.StatusCode);
        Assert.Null(record["responsePayload"]?.GetValue<string>());
        Assert.Empty(await gateway.ReceiveAsync("fragile-done"));
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Event_whose_workers_die_on_every_delivery_counts_as_a_failed_attempt_after_the_maximum_deliveries(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, MaxEventDeliveries = 2 }, queue: kind);
        var key = gateway.Add("doomed", new FunctionSpec { TimeoutSeconds = 1, Async = new AsyncSpec { MaximumRetryAttempts = 1 } });
        // A worker that takes each invocation and dies with it (never answers): its lease expires, the event is redelivered.
        await using var worker = new TestWorker(gateway.BaseAddress, key, _ => null);

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("doomed", """{"n":1}""", "Event"));
        var record = await gateway.WaitForMessageAsync("default.doomed.dlq");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var requestId = response.Headers.GetValues("x-amzn-RequestId").Single();
        // Two deliveries of attempt 1, two of its retry (attempt 2); the third delivery of each counted as a failed attempt.
        Assert.Equal([1, 1, 2, 2], worker.Received.Select(i => i.Attempt));
        Assert.All(worker.Received, i => Assert.Equal(requestId, i.RequestId));
        Assert.Equal("RetriesExhausted", (string?)record["requestContext"]!["condition"]);
        Assert.Equal(2, (int)record["requestContext"]!["approximateInvokeCount"]!);
        Assert.Equal("Runtime.ExitError", (string?)record["responsePayload"]!["errorType"]);
        Assert.Contains("on each of 2 deliveries of attempt 2", (string?)record["responsePayload"]!["errorMessage"], StringComparison.Ordinal);
        Assert.Empty(await gateway.ReceiveAsync("default.doomed.dlq"));
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Released_invocation_is_delivered_again(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("released");
        using var client = gateway.PullClient(key);
        var pending = gateway.Client.SendAsync(TestGateway.Invoke("released", """{"a":1}"""));

        var (first, lease) = await PullAsync(client, key.Name);
        using var release = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ReleasePath(first));
        release.Headers.Add(PullProtocol.LeaseTokenHeader, lease);
        using var released = await client.SendAsync(release);
        Assert.Equal(HttpStatusCode.Accepted, released.StatusCode);
        await using var worker = new TestWorker(gateway.BaseAddress, key, TestWorker.Echo);

        using var response = await pending;
        Assert.Equal("""{"a":1}""", await response.Content.ReadAsStringAsync());
        Assert.Equal(first, worker.Received.Single().RequestId);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Result_for_an_unknown_request_id_is_rejected_with_404(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var result = TestWorker.Ok(new Invocation
        {
            RequestId = "nope", Namespace = "default", FunctionName = "f", Version = "$LATEST", InvokedFunctionArn = "arn",
            Type = InvocationType.RequestResponse, Payload = [], AcceptedAt = DateTimeOffset.UtcNow,
        }, "1");

        using var client = gateway.PullClient(new FunctionKey("default", "f"));
        using var response = await client.PostAsync(PullProtocol.ResultPath("nope"),
            new StringContent(System.Text.Json.JsonSerializer.Serialize(result, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))));
        using var garbage = await client.PostAsync(PullProtocol.ResultPath("nope"), new StringContent("{oops"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
    }

    [Fact]
    public async Task Next_for_an_unknown_function_returns_410_gone()
    {
        await using var gateway = await TestGateway.StartAsync();

        using var client = gateway.PullClient(new FunctionKey("default", "ghost"));
        using var response = await client.GetAsync(PullProtocol.NextPath("default", "ghost", "$LATEST") + "?waitMs=10");

        Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
    }

    private static async Task<(string RequestId, string Lease)> PullAsync(HttpClient client, string name)
    {
        while (true)
        {
            using var response = await client.GetAsync(PullProtocol.NextPath("default", name, "$LATEST") + "?waitMs=1000");
            Assert.True(response.IsSuccessStatusCode, $"next answered {response.StatusCode}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                return ((string)body["requestId"]!, (string)body["leaseToken"]!);
            }
        }
    }
}
