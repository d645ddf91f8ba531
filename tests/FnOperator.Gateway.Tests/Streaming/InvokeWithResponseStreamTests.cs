using System.Net;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway.Streaming;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Streaming;

/// <summary>
/// InvokeWithResponseStream on the gateway, with a worker speaking the pull protocol's streaming path step by step: the
/// event stream framing, chunks as they are written, InvokeComplete, errors, and both queues.
/// </summary>
public sealed class InvokeWithResponseStreamTests
{
    public static TheoryData<QueueKind> Queues => [QueueKind.InMemory, QueueKind.JetStream];

    private static HttpRequestMessage StreamRequest(string function, string payload = "{}", string? type = null, bool tail = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/2021-11-15/functions/{function}/response-streaming-invocations") { Content = new StringContent(payload) };
        if (type is not null)
        {
            request.Headers.Add("X-Amz-Invocation-Type", type);
        }

        if (tail)
        {
            request.Headers.Add("X-Amz-Log-Type", "Tail");
        }

        return request;
    }

    [Theory]
    [MemberData(nameof(Queues))]
    public async Task Each_chunk_reaches_the_caller_before_the_worker_writes_the_next(QueueKind queue)
    {
        await using var gateway = await TestGateway.StartAsync(queue: queue);
        var key = gateway.Add("streamer-" + queue.ToString().ToLowerInvariant());
        using var worker = new StreamingWorker(gateway.BaseAddress, key);

        var call = gateway.Client.SendAsync(StreamRequest(key.Name, """{"q":1}""", tail: true), HttpCompletionOption.ResponseHeadersRead);
        var invocation = await worker.NextAsync();
        Assert.True(invocation.StreamResponse);
        Assert.Equal("""{"q":1}""", Encoding.UTF8.GetString(invocation.Payload));
        var stream = worker.Stream(invocation, "text/plain");
        await stream.WriteAsync("one;");

        using var response = await call.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("$LATEST", response.Headers.GetValues("X-Amz-Executed-Version").Single());
        var events = new EventStreamReader(await response.Content.ReadAsStreamAsync());
        var first = await events.NextAsync();

        // "two" is written only now: the caller held "one" while the stream was open.
        Assert.Equal("PayloadChunk", first!.EventType);
        Assert.Equal("event", first.Headers[":message-type"]);
        Assert.Equal("application/octet-stream", first.Headers[":content-type"]);
        Assert.Equal("one;", first.Text);
        await stream.WriteAsync("two;");
        var second = await events.NextAsync();
        Assert.Equal("two;", second!.Text);
        Assert.Equal(HttpStatusCode.Accepted, await stream.EndAsync());
        Assert.Equal(HttpStatusCode.Accepted, await worker.CompleteAsync(invocation, StreamingWorker.Streamed(invocation, "START\nlog line\nREPORT\n")));
        var complete = await events.NextAsync();
        Assert.Equal("InvokeComplete", complete!.EventType);
        Assert.Equal("application/json", complete.Headers[":content-type"]);
        using var body = JsonDocument.Parse(complete.Payload);
        Assert.False(body.RootElement.TryGetProperty("ErrorCode", out _));
        Assert.Equal("START\nlog line\nREPORT\n", Encoding.UTF8.GetString(Convert.FromBase64String(body.RootElement.GetProperty("LogResult").GetString()!)));
        Assert.Null(await events.NextAsync());
        Assert.Equal(0, gateway.App.Services.GetRequiredService<ResponseStreams>().Count);
    }

    [Fact]
    public async Task A_stream_cut_by_a_function_error_ends_with_InvokeComplete_and_status_200()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = gateway.Add("breaks");
        using var worker = new StreamingWorker(gateway.BaseAddress, key);

        var call = gateway.Client.SendAsync(StreamRequest("breaks"), HttpCompletionOption.ResponseHeadersRead);
        var invocation = await worker.NextAsync();
        var stream = worker.Stream(invocation);
        await stream.WriteAsync("partial;");
        using var response = await call.WaitAsync(TimeSpan.FromSeconds(60));
        var events = new EventStreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("partial;", (await events.NextAsync())!.Text);
        await stream.CutAsync();
        await worker.CompleteAsync(invocation, TestWorker.Fail(invocation, "Task timed out after 3.00 seconds", "Sandbox.Timedout"));
        var complete = await events.NextAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("InvokeComplete", complete!.EventType);
        using var body = JsonDocument.Parse(complete.Payload);
        Assert.Equal("Sandbox.Timedout", body.RootElement.GetProperty("ErrorCode").GetString());
        Assert.Equal("Task timed out after 3.00 seconds", body.RootElement.GetProperty("ErrorDetails").GetString());
        Assert.Null(await events.NextAsync());
    }

    [Fact]
    public async Task A_buffered_result_arrives_as_one_chunk_then_InvokeComplete()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = gateway.Add("buffered");
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Ok(inv, """{"whole":true}"""));

        using var response = await gateway.Client.SendAsync(StreamRequest("buffered"));
        var events = new EventStreamReader(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.ToString());
        var chunk = await events.NextAsync();
        Assert.Equal(("PayloadChunk", """{"whole":true}"""), (chunk!.EventType, chunk.Text));
        Assert.Equal("InvokeComplete", (await events.NextAsync())!.EventType);
        Assert.Null(await events.NextAsync());
    }

    [Fact]
    public async Task Invocation_types_names_and_concurrency_answer_as_the_invoke_api()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Add("fn");
        gateway.Add("closed", new FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", Concurrency = new ConcurrencySpec { Reserved = 0 } });

        using var dryRun = await gateway.Client.SendAsync(StreamRequest("fn", type: "DryRun"));
        using var asEvent = await gateway.Client.SendAsync(StreamRequest("fn", type: "Event"));
        using var missing = await gateway.Client.SendAsync(StreamRequest("nope"));
        using var throttled = await gateway.Client.SendAsync(StreamRequest("closed"));
        using var badJson = await gateway.Client.SendAsync(StreamRequest("fn", "{not json"));

        Assert.Equal(HttpStatusCode.NoContent, dryRun.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, asEvent.StatusCode);
        Assert.Equal("InvalidParameterValueException", asEvent.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("ResourceNotFoundException", missing.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        Assert.Equal("InvalidRequestContentException", badJson.Headers.GetValues("x-amzn-ErrorType").Single());
    }

    [Fact]
    public async Task The_stream_path_refuses_unknown_streams_other_functions_credentials_and_a_second_writer()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = gateway.Add("guarded");
        gateway.Add("other");
        using var worker = new StreamingWorker(gateway.BaseAddress, key);
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };
        using var otherFunction = StreamingWorker.PullClient(gateway.BaseAddress, key, credentialOf: "other");

        var unknown = await worker.Stream(new Invocation
        {
            RequestId = Guid.NewGuid().ToString(), Namespace = "default", FunctionName = "guarded", Version = "$LATEST",
            InvokedFunctionArn = "x", Type = InvocationType.RequestResponse, Payload = [], AcceptedAt = DateTimeOffset.UtcNow,
        }).RefusedAsync();
        var call = gateway.Client.SendAsync(StreamRequest("guarded"), HttpCompletionOption.ResponseHeadersRead);
        var invocation = await worker.NextAsync();
        var noCredential = await worker.Stream(invocation, with: anonymous).RefusedAsync();
        var wrongCredential = await worker.Stream(invocation, with: otherFunction).RefusedAsync();
        var stream = worker.Stream(invocation);
        await stream.WriteAsync("x");
        using var response = await call.WaitAsync(TimeSpan.FromSeconds(60));
        var second = await worker.Stream(invocation).RefusedAsync();
        await stream.EndAsync();
        await worker.CompleteAsync(invocation, StreamingWorker.Streamed(invocation));

        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Equal(HttpStatusCode.Unauthorized, noCredential);
        Assert.Equal(HttpStatusCode.Forbidden, wrongCredential);
        Assert.Equal(HttpStatusCode.Conflict, second);
        var events = new EventStreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("x", (await events.NextAsync())!.Text);
        Assert.Equal("InvokeComplete", (await events.NextAsync())!.EventType);
    }

    [Fact]
    public void Event_stream_crc_is_crc32_ieee()
    {
        var check = Encoding.ASCII.GetBytes("123456789");

        Assert.Equal(0xCBF43926u, EventStream.Crc32.Compute(check));
        Assert.Equal(0xCBF43926u, EventStreamReader.Crc32(check));
    }
}

/// <summary>InvokeWithResponseStream is authorized as Invoke: verb invoke on the named function.</summary>
public sealed class StreamingAuthorizationTests
{
    [Theory]
    [InlineData("/2021-11-15/functions/team.hello/response-streaming-invocations", "team", "hello")]
    [InlineData("/2021-11-15/functions/team/hello/response-streaming-invocations", "team", "hello")]
    [InlineData("/2021-11-15/functions/hello/response-streaming-invocations", "default", "hello")]
    public void Invoke_with_response_stream_needs_the_invoke_verb_on_the_function(string path, string ns, string name)
    {
        var registry = new FnOperator.Gateway.Functions.FunctionRegistry(
            FnOperator.Gateway.Functions.FunctionRegistry.DefaultRegion, FnOperator.Gateway.Functions.FunctionRegistry.DefaultAccountId);

        var operation = FnOperator.Gateway.Auth.LambdaOperations.Match("POST", path, registry);

        Assert.NotNull(operation);
        Assert.Equal(("lambda:InvokeFunction", "invoke", "functions", ns, name), (operation.Action, operation.Verb, operation.Resource, operation.Namespace, operation.Name));
    }
}
