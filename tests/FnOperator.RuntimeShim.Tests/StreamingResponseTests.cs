using System.Text;
using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The Runtime API's streaming response mode through the real shim, with the project's node bootstrap and the unmodified
/// aws-lambda-ric: bytes reach the gateway's side while the handler is still writing, error trailers become a function
/// error, the timeout and the size limit still apply mid-stream, and the buffered paths are unchanged.
/// </summary>
public class StreamingResponseTests
{
    /// <summary>The Runtime API server these cases run against (<see cref="StreamingResponseTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private Task<FunctionUnderTest> StartFunctionAsync(
        Client client, double timeoutSeconds = 120, IReadOnlyDictionary<string, string>? extra = null, string? handlerFile = null) =>
        FunctionUnderTest.StartAsync(client, timeoutSeconds, extra, handlerFile, ApiServer);

    public static TheoryData<Client> Clients => [Client.NodeBootstrap, Client.AwsLambdaRic];

    private static string Event(string action, object? value = null) => JsonSerializer.Serialize(new { action, value });

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Streamed_chunks_reach_the_gateway_while_the_handler_is_still_writing(Client client)
    {
        await using var fn = await StartFunctionAsync(client, handlerFile: "streaming.mjs");
        var go = Path.Combine(fn.TaskRoot, "go-" + Guid.NewGuid().ToString("N"));
        var invocation = fn.Server.Enqueue(Event("chunks", new { go }), stream: true);
        var stream = fn.Server.Streams[invocation.RequestId];

        // The handler writes chunk 2 only after this file exists: seeing chunk 1 first proves it was not buffered.
        var first = await stream.ReadUntilAsync($"chunk-1:{invocation.RequestId};");
        Assert.DoesNotContain("chunk-2", first, StringComparison.Ordinal);
        File.WriteAllText(go, "");
        var all = await stream.ReadToEndAsync();
        var result = await fn.Server.ResultAsync(invocation.RequestId);

        Assert.Equal($"chunk-1:{invocation.RequestId};chunk-2;", all);
        Assert.True(await stream.Ended.Task);
        Assert.Equal("text/plain; charset=utf-8", stream.ContentType);
        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Empty(result.Payload);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task HttpResponseStream_writes_the_json_prelude_and_eight_nul_bytes_before_the_body(Client client)
    {
        await using var fn = await StartFunctionAsync(client, handlerFile: "streaming.mjs");
        var invocation = fn.Server.Enqueue(Event("prelude"), stream: true);
        var stream = fn.Server.Streams[invocation.RequestId];

        await stream.ReadToEndAsync();
        var result = await fn.Server.ResultAsync(invocation.RequestId);

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Equal("application/vnd.awslambda.http-integration-response", stream.ContentType);
        var bytes = stream.Bytes.ToArray();
        var delimiter = bytes.AsSpan().IndexOf(new byte[8]);
        Assert.True(delimiter > 0, Encoding.UTF8.GetString(bytes));
        using var prelude = JsonDocument.Parse(bytes.AsMemory(0, delimiter));
        Assert.Equal(201, prelude.RootElement.GetProperty("statusCode").GetInt32());
        Assert.Equal("yes", prelude.RootElement.GetProperty("headers").GetProperty("x-custom").GetString());
        Assert.Equal("a=1; Path=/", prelude.RootElement.GetProperty("cookies")[0].GetString());
        Assert.Equal("hello world", Encoding.UTF8.GetString(bytes.AsSpan(delimiter + 8)));
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task An_error_after_the_first_bytes_arrives_in_the_trailers_as_a_function_error(Client client)
    {
        await using var fn = await StartFunctionAsync(client, handlerFile: "streaming.mjs");
        var invocation = fn.Server.Enqueue(Event("fail-midway"), stream: true);
        var stream = fn.Server.Streams[invocation.RequestId];

        var text = await stream.ReadToEndAsync();
        var result = await fn.Server.ResultAsync(invocation.RequestId);

        Assert.Equal("partial;", text);
        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal("Unhandled", result.FunctionError);
        Assert.Equal("MidwayError", result.ErrorType);
        Assert.Equal("broke midway", result.Json().GetProperty("errorMessage").GetString());
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task A_streaming_handler_invoked_without_streaming_answers_buffered(Client client)
    {
        await using var fn = await StartFunctionAsync(client, handlerFile: "streaming.mjs");

        var result = await fn.Server.InvokeAsync(Event("prelude"));

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.EndsWith("hello world", result.Text(), StringComparison.Ordinal);
        Assert.Empty(fn.Server.Streams);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Streamed_invocations_follow_one_another_on_the_same_warm_runtime(Client client)
    {
        await using var fn = await StartFunctionAsync(client, handlerFile: "streaming.mjs");
        var results = new List<InvocationResult>();
        for (var i = 0; i < 3; i++)
        {
            var invocation = fn.Server.Enqueue(Event("prelude"), stream: true);
            Assert.EndsWith("hello world", await fn.Server.Streams[invocation.RequestId].ReadToEndAsync(), StringComparison.Ordinal);
            results.Add(await fn.Server.ResultAsync(invocation.RequestId));
        }

        Assert.All(results, r => Assert.True(r.Outcome == InvocationOutcome.Success, r.Describe()));
        Assert.NotNull(results[0].InitDurationMs);
        Assert.All(results.Skip(1), r => Assert.Null(r.InitDurationMs));
    }

    [Fact]
    public async Task A_gateway_without_the_caller_gets_the_stream_as_a_buffered_result()
    {
        await using var fn = await StartFunctionAsync(Client.NodeBootstrap, handlerFile: "streaming.mjs");
        fn.Server.RefuseStreams = true;
        var invocation = fn.Server.Enqueue(Event("prelude"), stream: true);

        var result = await fn.Server.ResultAsync(invocation.RequestId);

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.EndsWith("hello world", result.Text(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_function_timeout_cuts_a_stream_in_progress()
    {
        await using var fn = await StartFunctionAsync(Client.NodeBootstrap, timeoutSeconds: 3, handlerFile: "streaming.mjs");
        var invocation = fn.Server.Enqueue(Event("sleep-midway"), stream: true);
        var stream = fn.Server.Streams[invocation.RequestId];

        await stream.ReadUntilAsync("before-timeout;");
        var result = await fn.Server.ResultAsync(invocation.RequestId);

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal("Sandbox.Timedout", result.ErrorType);
        Assert.False(await stream.Ended.Task.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task A_stream_past_the_limit_is_cut_and_fails_with_ResponseSizeTooLarge()
    {
        await using var fn = await StartFunctionAsync(Client.NodeBootstrap, handlerFile: "streaming.mjs",
            extra: new Dictionary<string, string> { ["FNOP_MAX_STREAM_RESPONSE_BYTES"] = "100000" });
        var invocation = fn.Server.Enqueue(Event("big", new { bytes = 300_000 }), stream: true);
        var stream = fn.Server.Streams[invocation.RequestId];

        var result = await fn.Server.ResultAsync(invocation.RequestId);

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal("Function.ResponseSizeTooLarge", result.ErrorType);
        Assert.Contains("100000 bytes", result.Json().GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
        Assert.False(await stream.Ended.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        await stream.ReadToEndAsync();
        Assert.InRange(stream.Bytes.Count, 0, 100_000);
    }
}

/// <summary>Every case of <see cref="StreamingResponseTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class StreamingResponseTestsOnKestrel : StreamingResponseTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
