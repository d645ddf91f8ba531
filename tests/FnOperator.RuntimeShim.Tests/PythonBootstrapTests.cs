using System.Text.Json;
using System.Text.RegularExpressions;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>The project's Python bootstrap against Lambda's Python runtime: the root logging handler, JSON logs, user-only tracebacks.</summary>
public class PythonBootstrapTests
{
    /// <summary>The Runtime API server these cases run against (<see cref="PythonBootstrapTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private Task<FunctionUnderTest> StartInlineAsync(
        Client client, string file, string code, Dictionary<string, string>? extra = null, double timeoutSeconds = 120) =>
        InlineFunction.StartAsync(client, file, code, extra, timeoutSeconds, ApiServer);

    private const string LoggingCode = """
        import logging
        logger = logging.getLogger()

        def handler(event, context):
            logger.info("before-set-level")
            if event.get("level"):
                logger.setLevel(logging.INFO)
            logger.info("hello %s", "there")
            logging.warning("warned")
            logger.info("with extra", extra={"orderId": 7})
            try:
                {}["missing"]
            except KeyError:
                logger.exception("lookup failed")
            print("plain print")
            return "ok"
        """;

    [Fact]
    public async Task Root_logger_lines_carry_lambda_level_timestamp_and_request_id()
    {
        await using var fn = await StartInlineAsync(Client.PythonBootstrap, "app.py", LoggingCode);

        var unset = await fn.Server.InvokeAsync("{}", tailLog: true);
        var result = await fn.Server.InvokeAsync("""{"level":true}""", tailLog: true);

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        var id = Regex.Escape(result.RequestId);
        var lines = result.LogTail!.Split('\n');
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"^\[INFO\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{id}\thello there$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"^\[WARNING\]\t\S+Z\t{id}\twarned$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"^\[ERROR\]\t\S+Z\t{id}\tlookup failed$"));
        Assert.Contains("plain print", lines);
        // Without setLevel the root logger stays at WARNING, as in Lambda: INFO is dropped, WARNING is printed.
        Assert.DoesNotContain("hello there", unset.LogTail);
        Assert.Contains($"\t{unset.RequestId}\twarned", unset.LogTail);
    }

    [Fact]
    public async Task Json_log_format_prints_lambda_fields_and_the_log_level_applies()
    {
        await using var fn = await StartInlineAsync(Client.PythonBootstrap, "app.py", LoggingCode,
            new() { ["AWS_LAMBDA_LOG_FORMAT"] = "JSON", ["AWS_LAMBDA_LOG_LEVEL"] = "INFO" });

        var result = await fn.Server.InvokeAsync("{}", tailLog: true);

        var logged = NodeBootstrapTests.JsonLines(result.LogTail!);
        var hello = Assert.Single(logged, l => l.GetProperty("message").GetString() == "hello there");
        Assert.Equal("INFO", hello.GetProperty("level").GetString());
        Assert.Equal("root", hello.GetProperty("logger").GetString());
        Assert.Equal(result.RequestId, hello.GetProperty("requestId").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", hello.GetProperty("timestamp").GetString());
        Assert.Contains(logged, l => l.GetProperty("message").GetString() == "before-set-level");
        Assert.Equal(7, logged.Single(l => l.GetProperty("message").GetString() == "with extra").GetProperty("orderId").GetInt32());
        var exception = logged.Single(l => l.GetProperty("message").GetString() == "lookup failed");
        Assert.Equal("ERROR", exception.GetProperty("level").GetString());
        Assert.Equal("KeyError", exception.GetProperty("errorType").GetString());
        Assert.Equal(JsonValueKind.Array, exception.GetProperty("stackTrace").ValueKind);
        Assert.Contains("app.py:handler:", exception.GetProperty("location").GetString());
    }

    [Fact]
    public async Task Json_log_format_logs_a_function_error_as_one_json_object()
    {
        await using var fn = await StartInlineAsync(Client.PythonBootstrap, "app.py",
            "def handler(event, context):\n    raise ValueError('bad value')\n", new() { ["AWS_LAMBDA_LOG_FORMAT"] = "JSON" });

        var result = await fn.Server.InvokeAsync("{}", tailLog: true);

        var error = Assert.Single(NodeBootstrapTests.JsonLines(result.LogTail!));
        Assert.Equal("ERROR", error.GetProperty("level").GetString());
        Assert.Equal("ValueError", error.GetProperty("errorType").GetString());
        Assert.Equal("bad value", error.GetProperty("errorMessage").GetString());
        Assert.Equal(result.RequestId, error.GetProperty("requestId").GetString());
    }

    [Theory]
    [InlineData("def handler(event, context):\n    return helper()\n\ndef helper():\n    raise ValueError('deep')\n", 2)]
    [InlineData("import asyncio\nasync def handler(event, context):\n    await asyncio.sleep(0)\n    return helper()\n\ndef helper():\n    raise ValueError('deep')\n", 2)]
    public async Task Stack_trace_holds_only_the_user_frames_and_the_error_is_logged_as_lambda_does(string code, int frames)
    {
        await using var fn = await StartInlineAsync(Client.PythonBootstrap, "app.py", code);

        var result = await fn.Server.InvokeAsync("{}", tailLog: true);

        Assert.Equal("ValueError", result.ErrorType);
        var trace = result.Json().GetProperty("stackTrace").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(frames, trace.Count);
        Assert.All(trace, t => Assert.Contains("app.py", t));
        Assert.StartsWith("  File \"", trace[0]);
        Assert.Contains(", in handler", trace[0]);
        Assert.Contains(", in helper", trace[^1]);
        Assert.Equal(result.RequestId, result.Json().GetProperty("requestId").GetString());
        var logged = result.LogTail!.Split('\n').Single(l => l.StartsWith("[ERROR] ValueError: deep", StringComparison.Ordinal));
        Assert.Contains("\rTraceback (most recent call last):\r", logged);
        Assert.DoesNotContain("bootstrap.py", logged);
    }

    [Fact]
    public async Task Init_error_stack_trace_does_not_show_the_bootstrap()
    {
        await using var fn = await StartInlineAsync(Client.PythonBootstrap, "app.py",
            "def setup():\n    raise KeyError('bad setting')\n\nsetup()\n\ndef handler(e, c):\n    return 1\n");

        var result = await fn.Server.InvokeAsync("{}");

        Assert.Equal("KeyError", result.ErrorType);
        var trace = result.Json().GetProperty("stackTrace").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.DoesNotContain(trace, t => t.Contains("bootstrap.py", StringComparison.Ordinal));
        Assert.Contains(", in setup", trace[^1]);
    }

    [Fact]
    public async Task Result_that_is_not_json_serializable_is_a_marshal_error()
    {
        await using var fn = await StartInlineAsync(Client.PythonBootstrap, "app.py", "def handler(event, context):\n    return {1, 2}\n");

        var result = await fn.Server.InvokeAsync("{}");

        Assert.Equal("Runtime.MarshalError", result.ErrorType);
        Assert.StartsWith("Unable to marshal response: Object of type set is not JSON serializable", result.Json().GetProperty("errorMessage").GetString());
    }
}

/// <summary>Every case of <see cref="PythonBootstrapTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class PythonBootstrapTestsOnKestrel : PythonBootstrapTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
