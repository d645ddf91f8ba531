using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>The same Lambda cases for every runtime client: real clients this project did not write, and its own bootstraps.</summary>
public class RuntimeClientTests
{
    /// <summary>The Runtime API server these cases run against (<see cref="RuntimeClientTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private Task<FunctionUnderTest> StartFunctionAsync(
        Client client, double timeoutSeconds = 120, IReadOnlyDictionary<string, string>? extra = null, string? handlerFile = null) =>
        FunctionUnderTest.StartAsync(client, timeoutSeconds, extra, handlerFile, ApiServer);

    public static TheoryData<Client> Clients => [Client.AwsLambdaRic, Client.BashCurl, Client.NodeBootstrap, Client.PythonBootstrap];

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Success_returns_the_handler_response(Client client)
    {
        await using var fn = await StartFunctionAsync(client);

        var result = await fn.InvokeAsync("ok", value: new { n = 42 });

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Null(result.FunctionError);
        Assert.True(result.Json().GetProperty("ok").GetBoolean());
        Assert.Equal(42, result.Json().GetProperty("value").GetProperty("n").GetInt32());
        Assert.Equal("$LATEST", result.ExecutedVersion);
        Assert.Equal(256, result.MemorySizeMb);
        Assert.NotNull(result.InitDurationMs);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Handled_error_is_a_function_error_with_the_runtime_error_document(Client client)
    {
        await using var fn = await StartFunctionAsync(client);

        var result = await fn.InvokeAsync("handled");

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        // As in Lambda: every error a runtime posts to /error is reported as X-Amz-Function-Error: Unhandled.
        Assert.Equal("Unhandled", result.FunctionError);
        Assert.Equal("ValidationError", result.ErrorType);
        Assert.Equal("ValidationError", result.Json().GetProperty("errorType").GetString());
        Assert.Equal("handled failure", result.Json().GetProperty("errorMessage").GetString());
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Unhandled_exception_is_an_unhandled_function_error(Client client)
    {
        await using var fn = await StartFunctionAsync(client);

        var result = await fn.InvokeAsync("unhandled");

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal("Unhandled", result.FunctionError);
        var expected = client switch
        {
            Client.BashCurl => "HandlerError",
            Client.PythonBootstrap => "AttributeError",
            _ => "TypeError",
        };
        Assert.Equal(expected, result.ErrorType);
        Assert.Equal(expected, result.Json().GetProperty("errorType").GetString());

        var next = await fn.InvokeAsync("ok", value: 1);
        Assert.True(next.Outcome == InvocationOutcome.Success, next.Describe());
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Timeout_kills_the_runtime_reports_task_timed_out_and_the_next_invocation_gets_a_fresh_runtime(Client client)
    {
        await using var fn = await StartFunctionAsync(client, timeoutSeconds: 3);
        var first = await fn.InvokeAsync("ok", value: 1);
        Assert.True(first.Outcome == InvocationOutcome.Success, first.Describe());
        Assert.Equal(1, first.Json().GetProperty("count").GetInt32());

        var result = await fn.InvokeAsync("sleep");

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal("Unhandled", result.FunctionError);
        Assert.Equal("Sandbox.Timedout", result.ErrorType);
        Assert.Contains("Task timed out after 3.00 seconds", result.Json().GetProperty("errorMessage").GetString());
        await fn.Shim.WaitForLineAsync(l => l.Contains($"{result.RequestId} Task timed out after 3.00 seconds", StringComparison.Ordinal));

        var after = await fn.InvokeAsync("ok", value: 2);
        Assert.True(after.Outcome == InvocationOutcome.Success, after.Describe());
        Assert.Equal(1, after.Json().GetProperty("count").GetInt32());
        Assert.NotNull(after.InitDurationMs);
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Runtime_crash_is_reported_as_runtime_exit_error_and_the_runtime_is_restarted(Client client)
    {
        await using var fn = await StartFunctionAsync(client);

        var result = await fn.InvokeAsync("exit");

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal("Unhandled", result.FunctionError);
        Assert.Equal("Runtime.ExitError", result.ErrorType);
        // "exit status N", or Lambda's "signal: killed" for a runtime that died of a signal (the bash client SIGKILLs itself).
        Assert.Matches("Runtime exited with error: (exit status [0-9]+|signal: killed)$", result.Json().GetProperty("errorMessage").GetString());

        var next = await fn.InvokeAsync("ok", value: 3);
        Assert.True(next.Outcome == InvocationOutcome.Success, next.Describe());
        Assert.Equal(1, next.Json().GetProperty("count").GetInt32());
    }

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task Response_over_6_MB_is_a_function_error_never_a_truncated_success(Client client)
    {
        await using var fn = await StartFunctionAsync(client);

        var result = await fn.InvokeAsync("big");

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal("Unhandled", result.FunctionError);
        Assert.Equal("Function.ResponseSizeTooLarge", result.ErrorType);
        Assert.True(result.Payload.Length < 1024);

        var next = await fn.InvokeAsync("ok", value: 4);
        Assert.True(next.Outcome == InvocationOutcome.Success, next.Describe());
    }
}

/// <summary>Every case of <see cref="RuntimeClientTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class RuntimeClientTestsOnKestrel : RuntimeClientTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
