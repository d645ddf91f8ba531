using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Queue;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

public sealed class InvokeApiTests
{
    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Sync_invocation_returns_the_worker_response_with_request_id_and_executed_version(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("echo");
        await using var worker = new TestWorker(gateway.BaseAddress, key, TestWorker.Echo);

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("echo", """{"hello":"world"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"hello":"world"}""", await response.Content.ReadAsStringAsync());
        Assert.Equal("$LATEST", response.Headers.GetValues("X-Amz-Executed-Version").Single());
        Assert.False(response.Headers.Contains("X-Amz-Function-Error"));
        var requestId = response.Headers.GetValues("x-amzn-RequestId").Single();
        Assert.Equal(requestId, Assert.Single(worker.Received).RequestId);
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:echo", worker.Received.Single().InvokedFunctionArn);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Event_invocation_returns_202_before_any_worker_exists_and_runs_when_one_starts(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("later");

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("later", """{"n":1}""", "Event"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1, gateway.App.Services.GetRequiredService<IInvocationQueue>().GetStats(key).Depth);

        var ran = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv =>
        {
            ran.TrySetResult(Encoding.UTF8.GetString(inv.Payload));
            return TestWorker.Ok(inv, "null");
        });
        Assert.Equal("""{"n":1}""", await ran.Task.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task DryRun_returns_204_and_queues_nothing()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = gateway.Add("dry");

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("dry", "{}", "DryRun"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(new QueueStats(0, 0, 0), gateway.App.Services.GetRequiredService<IInvocationQueue>().GetStats(key));
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Tail_log_type_returns_the_last_4_KB_of_the_log_base64_encoded(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("logger");
        var log = new string('x', 5000) + "\nREPORT RequestId: abc Duration: 1.00 ms";
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Ok(inv, "1", inv.TailLog ? log : null));
        var request = TestGateway.Invoke("logger");
        request.Headers.Add("X-Amz-Log-Type", "Tail");

        using var response = await gateway.Client.SendAsync(request);

        var tail = Encoding.UTF8.GetString(Convert.FromBase64String(response.Headers.GetValues("X-Amz-Log-Result").Single()));
        Assert.Equal(4096, tail.Length);
        Assert.EndsWith("REPORT RequestId: abc Duration: 1.00 ms", tail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Client_context_header_is_decoded_and_handed_to_the_worker(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("ctx");
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Ok(inv, inv.ClientContext ?? "null"));
        var request = TestGateway.Invoke("ctx");
        request.Headers.Add("X-Amz-Client-Context", Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"custom":{"a":"b"}}""")));

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal("""{"custom":{"a":"b"}}""", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Function_error_returns_200_with_function_error_header_and_error_payload(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("broken");
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Fail(inv, "it broke"));

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("broken"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Unhandled", response.Headers.GetValues("X-Amz-Function-Error").Single());
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("it broke", (string?)body["errorMessage"]);
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("team%2Fnope")]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:nope")]
    public async Task Unknown_function_returns_404_resource_not_found_in_lambda_error_shape(string name)
    {
        await using var gateway = await TestGateway.StartAsync();

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke(name));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ResourceNotFoundException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("User", (string?)body["Type"]);
        Assert.StartsWith("Function not found: arn:aws:lambda:", (string?)body["message"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RequestResponse", 6 * 1024 * 1024)]
    [InlineData("Event", 1024 * 1024)]
    public async Task Payload_over_the_limit_returns_413_and_queues_nothing(string type, int limit)
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = gateway.Add("big");
        var payload = "\"" + new string('a', limit) + "\"";

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("big", payload, type));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("RequestTooLargeException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Equal(new QueueStats(0, 0, 0), gateway.App.Services.GetRequiredService<IInvocationQueue>().GetStats(key));
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Payload_just_under_the_async_limit_is_accepted(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        gateway.Add("big");
        var payload = "\"" + new string('a', (1024 * 1024) - 2) + "\"";

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("big", payload, "Event"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2")]
    [InlineData("{}{}")]
    [InlineData("\"unterminated")]
    public async Task Malformed_json_payload_returns_400_invalid_request_content(string payload)
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = gateway.Add("strict");

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("strict", payload, "Event"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("InvalidRequestContentException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Equal(0, gateway.App.Services.GetRequiredService<IInvocationQueue>().GetStats(key).Depth);
    }

    [Theory]
    [InlineData("Sometimes")]
    [InlineData("1")]
    [InlineData("event")]
    public async Task Unknown_invocation_type_returns_400(string type)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Add("f");

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("f", "{}", type));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("InvalidParameterValueException", response.Headers.GetValues("x-amzn-ErrorType").Single());
    }

    [Fact]
    public async Task Reserved_concurrency_zero_throttles_sync_invocations_with_429_and_reason()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Add("off", new FunctionSpec { TimeoutSeconds = 3, Concurrency = new ConcurrencySpec { Reserved = 0 } });

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("off"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("TooManyRequestsException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("ReservedFunctionConcurrentInvocationLimitExceeded", (string?)body["Reason"]);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Reserved_concurrency_one_throttles_a_second_concurrent_sync_invocation(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("one", new FunctionSpec { TimeoutSeconds = 30, Concurrency = new ConcurrencySpec { Reserved = 1 } });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = TestWorker.WithAsyncHandler(gateway.BaseAddress, key, async inv =>
        {
            await Task.WhenAny(release.Task, Task.Delay(TimeSpan.FromSeconds(60))); // held without a thread
            return (FnOperator.Contracts.InvocationResult?)TestWorker.Ok(inv, "\"first\"");
        });
        var first = gateway.Client.SendAsync(TestGateway.Invoke("one"));
        await TestWait.UntilAsync(() => worker.Received.Count == 1);

        using var second = await gateway.Client.SendAsync(TestGateway.Invoke("one"));
        release.TrySetResult();

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        using var firstResponse = await first;
        Assert.Equal("\"first\"", await firstResponse.Content.ReadAsStringAsync());
    }
}
