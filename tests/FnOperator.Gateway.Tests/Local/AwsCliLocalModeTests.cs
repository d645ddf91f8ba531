using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>The real AWS CLI v2 invokes the node, python and provided examples through local mode.</summary>
public sealed class AwsCliLocalModeTests(ExamplesFixture fixture) : IClassFixture<ExamplesFixture>
{
    private static readonly TimeSpan LogWait = TimeSpan.FromSeconds(60);

    public static TheoryData<string, string> Examples => new()
    {
        { "hello-node", "Hello, Ada!" },
        { "hello-python", "Hi, Ada!" },
        { "hello-provided", "Howdy, Ada!" },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Sync_invoke_returns_the_handler_result(string function, string message)
    {
        var result = await AwsCli.InvokeAsync(fixture.Local.Endpoint, function, """{"name":"Ada"}""");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(200, (int)result.Json["StatusCode"]!);
        Assert.Equal("$LATEST", (string?)result.Json["ExecutedVersion"]);
        Assert.Null(result.Json["FunctionError"]);
        var body = JsonNode.Parse(result.OutFile)!;
        Assert.Equal(message, (string?)body["message"]);
        Assert.True(Guid.TryParse((string?)body["requestId"], out _), result.OutFile);
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Event_invoke_is_accepted_with_202_and_then_runs(string function, string unused)
    {
        _ = unused;
        var marker = $"evt{Guid.NewGuid():N}"[..16];

        var result = await AwsCli.InvokeAsync(fixture.Local.Endpoint, function, $$"""{"name":"{{marker}}"}""", "--invocation-type", "Event");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(202, (int)result.Json["StatusCode"]!);
        // Every example logs the name it greets, so the asynchronous run shows in the function's output.
        var line = await fixture.Local.WaitForLineAsync(l => l.Contains($"greeting {marker} in request", StringComparison.Ordinal), LogWait);
        Assert.StartsWith($"[{function}] ", line, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Log_type_tail_returns_the_base64_log_with_start_and_report(string function, string unused)
    {
        _ = unused;
        var result = await AwsCli.InvokeAsync(fixture.Local.Endpoint, function, """{"name":"Tail"}""", "--log-type", "Tail");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var requestId = (string?)JsonNode.Parse(result.OutFile)!["requestId"];
        var log = Encoding.UTF8.GetString(Convert.FromBase64String((string)result.Json["LogResult"]!));
        Assert.Contains($"START RequestId: {requestId}", log, StringComparison.Ordinal);
        Assert.Contains($"END RequestId: {requestId}", log, StringComparison.Ordinal);
        Assert.Matches($@"REPORT RequestId: {requestId}\s+Duration: [0-9.]+ ms\s+Billed Duration: [0-9]+ ms\s+Memory Size: [0-9]+ MB", log);
    }

    [Theory]
    [InlineData("hello-node", "Error", "asked to fail: on purpose")]
    [InlineData("hello-python", "ValueError", "asked to fail: on purpose")]
    [InlineData("hello-provided", "HandlerError", "handler failed for request")]
    public async Task Function_error_is_reported_as_FunctionError_with_the_error_body(string function, string errorType, string message)
    {
        var result = await AwsCli.InvokeAsync(fixture.Local.Endpoint, function, """{"fail":"on purpose"}""");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(200, (int)result.Json["StatusCode"]!);
        Assert.Equal("Unhandled", (string?)result.Json["FunctionError"]);
        var error = JsonNode.Parse(result.OutFile)!;
        Assert.Equal(errorType, (string?)error["errorType"]);
        Assert.Contains(message, (string?)error["errorMessage"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_function_fails_with_ResourceNotFoundException_and_a_non_zero_exit()
    {
        var result = await AwsCli.InvokeAsync(fixture.Local.Endpoint, "no-such-function", "{}");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("ResourceNotFoundException", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("no-such-function", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_table_lists_each_function_with_its_invoke_command_and_credentials_hint()
    {
        var output = fixture.Local.Output;

        foreach (var function in new[] { "hello-node", "hello-python", "hello-provided", "flaky-worker", "record-success" })
        {
            Assert.Contains(
                $"aws lambda invoke --endpoint-url {fixture.Local.Endpoint} --function-name {function} --cli-binary-format raw-in-base64-out --payload '{{\"name\":\"Ada\"}}' out.json",
                output, StringComparison.Ordinal);
        }

        Assert.Contains("export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1", output, StringComparison.Ordinal);
        Assert.Matches(@"hello-python\s+python3\.12\s+app\.handler\s+256 MB\s+10 s", output);
    }
}
