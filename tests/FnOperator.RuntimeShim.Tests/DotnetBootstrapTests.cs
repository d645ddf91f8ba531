using System.Text.RegularExpressions;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The project's managed .NET runtime (runtime-shim/bootstraps/dotnet) running class-library handlers from
/// tests/FnOperator.DotnetFunctions under a real shim: handler shapes, serializers, context, errors, init, timeout.
/// </summary>
public class DotnetBootstrapTests
{
    /// <summary>The Runtime API server these cases run against (<see cref="DotnetBootstrapTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private Task<FunctionUnderTest> StartFunctionAsync(
        Client client, double timeoutSeconds = 120, IReadOnlyDictionary<string, string>? extra = null, string? handlerFile = null) =>
        FunctionUnderTest.StartAsync(client, timeoutSeconds, extra, handlerFile, ApiServer);

    private Task<FunctionUnderTest> StartAsync(string typeAndMethod, double timeoutSeconds = 120, Dictionary<string, string>? extra = null) =>
        StartFunctionAsync(Client.DotnetBootstrap, timeoutSeconds,
            new Dictionary<string, string>(extra ?? []) { ["_HANDLER"] = FunctionUnderTest.DotnetHandler(typeAndMethod) });

    [Theory]
    [InlineData("Handlers::Echo", "{\"a\":1}", "echo:{\"a\":1}")]
    [InlineData("Handlers::Upper", "\"shout\"", "\"SHOUT\"")]
    [InlineData("Handlers::Yaml", "{\"id\":\"A-1\",\"quantity\":2}", "\"Id: A-1\\nQuantity: 2\\nNote:\"")]
    [InlineData("Handlers::Nothing", "{}", "")]
    [InlineData("Handlers::StaticHello", "{}", "\"static\"")]
    [InlineData("Handlers::Custom", "{\"id\":\"a-1\",\"quantity\":3}", "{\"ID\":\"A-1\",\"QUANTITY\":3,\"NOTE\":\"CUSTOM\"}")]
    public async Task Handler_shapes_answer_with_the_serialized_result(string handler, string eventJson, string expected)
    {
        await using var fn = await StartAsync(handler);

        var result = await fn.Server.InvokeAsync(eventJson);

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Equal(expected, result.Text());
    }

    [Fact]
    public async Task Poco_handler_reads_case_insensitively_writes_declared_names_and_its_constructor_runs_once()
    {
        await using var fn = await StartAsync("Handlers::PocoAsync");

        var first = await fn.Server.InvokeAsync("""{"id":"book","QUANTITY":2}""");
        var second = await fn.Server.InvokeAsync("""{"Id":"pen","quantity":5}""");

        Assert.True(first.Outcome == InvocationOutcome.Success, first.Describe());
        Assert.Equal("2 x book", first.Json().GetProperty("Message").GetString());
        Assert.Equal(first.RequestId, first.Json().GetProperty("RequestId").GetString());
        Assert.Equal("5 x pen", second.Json().GetProperty("Message").GetString());
        Assert.Equal(1, second.Json().GetProperty("Constructed").GetInt32());
        Assert.Equal(2, second.Json().GetProperty("Calls").GetInt32());
    }

    [Fact]
    public async Task Async_task_handler_without_result_answers_empty_and_logs_through_the_context_logger()
    {
        await using var fn = await StartAsync("Handlers::DelayAsync");

        var result = await fn.Server.InvokeAsync("{}", tailLog: true);

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Equal("", result.Text());
        Assert.Contains($"\t{result.RequestId}\tinfo\tdelayed", result.LogTail);
    }

    [Fact]
    public async Task Context_carries_the_invocation_fields_and_log_lines_have_lambda_dotnet_format()
    {
        await using var fn = await StartAsync("Handlers::Context", timeoutSeconds: 30);

        var result = await fn.Server.InvokeAsync("{}", tailLog: true);

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        var info = result.Json();
        Assert.Equal(result.RequestId, info.GetProperty("AwsRequestId").GetString());
        Assert.Equal("fn", info.GetProperty("FunctionName").GetString());
        Assert.Equal("$LATEST", info.GetProperty("FunctionVersion").GetString());
        Assert.EndsWith(":function:fn", info.GetProperty("InvokedFunctionArn").GetString());
        Assert.Equal(256, info.GetProperty("MemoryLimitInMB").GetInt32());
        Assert.InRange(info.GetProperty("RemainingMs").GetDouble(), 20_000, 30_000);
        Assert.Equal("/aws/lambda/fn", info.GetProperty("LogGroupName").GetString());
        var id = Regex.Escape(result.RequestId);
        var lines = result.LogTail!.Split('\n');
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{id}\tinfo\tplain-log$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"Z\t{id}\twarn\tcareful-now$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"Z\t{id}\tinfo\tconsole-line$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"Z\t{id}\tfail\tstderr-line$"));
    }

    [Theory]
    [InlineData("Handlers::Fail", "InvalidOperationException", "cannot take x")]
    [InlineData("Handlers::FailAsync", "TimeoutException", "async failure")]
    public async Task Exception_is_a_function_error_in_lambda_dotnet_shape(string handler, string errorType, string message)
    {
        await using var fn = await StartAsync(handler);

        var result = await fn.Server.InvokeAsync("""{"id":"x"}""", tailLog: true);
        var again = await fn.Server.InvokeAsync("""{"id":"x"}""");

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal("Unhandled", result.FunctionError);
        Assert.Equal(errorType, result.ErrorType);
        var body = result.Json();
        Assert.Equal(errorType, body.GetProperty("errorType").GetString());
        Assert.Equal(message, body.GetProperty("errorMessage").GetString());
        var trace = body.GetProperty("stackTrace").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.NotEmpty(trace);
        Assert.All(trace, t => Assert.StartsWith("at ", t));
        Assert.Contains(trace, t => t.Contains("FnOperator.DotnetFunctions.Handlers.Fail", StringComparison.Ordinal));
        Assert.DoesNotContain(trace, t => t.Contains("System.Reflection", StringComparison.Ordinal) || t.Contains("DotnetBootstrap", StringComparison.Ordinal));
        if (handler == "Handlers::Fail")
        {
            Assert.Equal("ArgumentException", body.GetProperty("cause").GetProperty("errorType").GetString());
        }

        Assert.Contains($"\t{result.RequestId}\tfail\t{errorType}: {message}", result.LogTail);
        Assert.Equal(errorType, again.ErrorType);
    }

    [Theory]
    [InlineData("Handlers::PocoAsync", "{\"id\":5}", "Error converting the Lambda event JSON payload to type FnOperator.DotnetFunctions.Order: ")]
    [InlineData("Handlers::Upper", "42", "Error converting the Lambda event JSON payload to a string. JSON strings must be quoted")]
    public async Task Event_the_default_serializer_cannot_convert_fails_with_lambda_JsonSerializerException(string handler, string eventJson, string message)
    {
        await using var fn = await StartAsync(handler);

        var result = await fn.Server.InvokeAsync(eventJson);
        var fine = await fn.Server.InvokeAsync(handler == "Handlers::Upper" ? "\"ok\"" : "{\"id\":\"pen\",\"quantity\":1}");

        Assert.Equal("JsonSerializerException", result.ErrorType);
        Assert.StartsWith(message, result.Json().GetProperty("errorMessage").GetString());
        Assert.Equal("JsonException", result.Json().GetProperty("cause").GetProperty("errorType").GetString());
        Assert.True(fine.Outcome == InvocationOutcome.Success, fine.Describe());
    }

    [Theory]
    [InlineData("Broken::Handle", "InvalidDataException", "bad configuration")]
    [InlineData("Handlers::Missing", "LambdaValidationException", "Found no methods matching method name 'Missing'")]
    [InlineData("Nope::Handle", "LambdaValidationException", "Unable to load type 'FnOperator.DotnetFunctions.Nope' from assembly 'FnOperator.DotnetFunctions'.")]
    [InlineData("Handlers::Overloaded", "LambdaValidationException", "appears to have a number of overloads")]
    public async Task Load_and_constructor_failures_are_init_errors(string handler, string errorType, string message)
    {
        await using var fn = await StartAsync(handler);

        var result = await fn.Server.InvokeAsync("{}");

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal(errorType, result.ErrorType);
        Assert.Contains(message, result.Json().GetProperty("errorMessage").GetString());
    }

    [Theory]
    [InlineData("Missing::Type::Method", "Could not find the specified handler assembly with the file name 'Missing, Culture=neutral, PublicKeyToken=null'.")]
    [InlineData("Assembly::Type", "Invalid lambda function handler: 'Assembly::Type'.")]
    public async Task Missing_assembly_or_malformed_handler_is_an_init_error(string handler, string message)
    {
        await using var fn = await StartFunctionAsync(Client.DotnetBootstrap, extra: new Dictionary<string, string> { ["_HANDLER"] = handler });

        var result = await fn.Server.InvokeAsync("{}");

        Assert.Equal("LambdaValidationException", result.ErrorType);
        Assert.Contains(message, result.Json().GetProperty("errorMessage").GetString());
    }

    [Fact]
    public async Task Timeout_kills_the_runtime_and_a_fresh_one_serves_the_next_invocation()
    {
        await using var fn = await StartAsync("Handlers::Sleep", timeoutSeconds: 1);

        var timedOut = await fn.Server.InvokeAsync("{}");
        var again = await fn.Server.InvokeAsync("{}");

        Assert.Equal("Sandbox.Timedout", timedOut.ErrorType);
        Assert.Contains("Task timed out after 1.00 seconds", timedOut.Text());
        Assert.Equal("Sandbox.Timedout", again.ErrorType);
        Assert.NotNull(again.InitDurationMs);
    }

    [Fact]
    public async Task Json_log_format_and_log_level_apply_to_dotnet_logs()
    {
        await using var fn = await StartAsync("Handlers::Context",
            extra: new() { ["AWS_LAMBDA_LOG_FORMAT"] = "JSON", ["AWS_LAMBDA_LOG_LEVEL"] = "WARN" });

        var result = await fn.Server.InvokeAsync("{}", tailLog: true);

        var logged = NodeBootstrapTests.JsonLines(result.LogTail!);
        Assert.DoesNotContain(logged, l => l.GetProperty("message").GetString() == "plain-log");
        var warning = Assert.Single(logged, l => l.GetProperty("message").GetString() == "careful-now");
        Assert.Equal("Warning", warning.GetProperty("level").GetString());
        Assert.Equal(result.RequestId, warning.GetProperty("requestId").GetString());
        Assert.Contains(logged, l => l.GetProperty("message").GetString() == "stderr-line" && l.GetProperty("level").GetString() == "Error");
    }

    [Fact]
    public async Task Hello_dotnet_example_published_as_make_run_does_runs_under_the_dotnet_bootstrap()
    {
        var publish = Directory.CreateTempSubdirectory("fnop-hello-dotnet-").FullName;
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "publish", Path.Combine(Repo.Root, "examples", "hello-dotnet", "src"), "-c", "Release", "-o", publish })
        {
            info.ArgumentList.Add(arg);
        }

        using (var build = System.Diagnostics.Process.Start(info)!)
        {
            var output = await build.StandardOutput.ReadToEndAsync();
            await build.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
            Assert.True(build.ExitCode == 0, output);
        }

        await using var fn = await StartFunctionAsync(Client.DotnetBootstrap, extra: new Dictionary<string, string>
        {
            ["LAMBDA_TASK_ROOT"] = publish,
            ["_HANDLER"] = "HelloDotnet::HelloDotnet.Function::Handler",
        });

        var hello = await fn.Server.InvokeAsync("""{"name":"Ada"}""", tailLog: true);
        var failed = await fn.Server.InvokeAsync("""{"Fail":"why"}""");

        Assert.True(hello.Outcome == InvocationOutcome.Success, hello.Describe());
        Assert.Equal("Hello from .NET, Ada!", hello.Json().GetProperty("Message").GetString());
        Assert.Equal(hello.RequestId, hello.Json().GetProperty("RequestId").GetString());
        Assert.Contains($"\t{hello.RequestId}\tinfo\tgreeting Ada in request {hello.RequestId}", hello.LogTail);
        Assert.Equal("InvalidOperationException", failed.ErrorType);
        Assert.Equal("asked to fail: why", failed.Json().GetProperty("errorMessage").GetString());
        Directory.Delete(publish, recursive: true);
    }
}

/// <summary>Every case of <see cref="DotnetBootstrapTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class DotnetBootstrapTestsOnKestrel : DotnetBootstrapTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
