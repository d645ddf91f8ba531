using System.Text.Json;
using System.Text.RegularExpressions;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>The project's Node.js bootstrap against Lambda's Node.js runtime: completion rules and console formats.</summary>
public partial class NodeBootstrapTests
{
    /// <summary>The Runtime API server these cases run against (<see cref="NodeBootstrapTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private Task<FunctionUnderTest> StartInlineAsync(
        Client client, string file, string code, Dictionary<string, string>? extra = null, double timeoutSeconds = 120) =>
        InlineFunction.StartAsync(client, file, code, extra, timeoutSeconds, ApiServer);

    [Theory]
    [InlineData("export const handler = (event, context, callback) => {};")]
    [InlineData("export const handler = (event) => new Promise(() => {});")]
    [InlineData("export function handler(event) { return { ignored: true }; }")]
    public async Task Non_async_handler_that_never_completes_answers_null_when_the_event_loop_empties(string code)
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", code);

        var result = await fn.Server.InvokeAsync("{}");

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Equal("null", result.Text());
    }

    [Fact]
    public async Task Async_handler_whose_promise_never_settles_fails_with_NodeJsExit_and_the_runtime_keeps_serving()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", """
            let calls = 0;
            export const handler = async (event) => {
              calls++;
              if (event.hang) await new Promise(() => {});
              return { calls };
            };
            """);

        var hung = await fn.Server.InvokeAsync("""{"hang":true}""");
        var next = await fn.Server.InvokeAsync("{}");

        Assert.True(hung.Outcome == InvocationOutcome.FunctionError, hung.Describe());
        Assert.Equal("Runtime.NodeJsExit", hung.ErrorType);
        Assert.Contains("Promise that was never settled", hung.Text());
        Assert.True(next.Outcome == InvocationOutcome.Success, next.Describe());
        Assert.Equal(2, next.Json().GetProperty("calls").GetInt32());
    }

    [Fact]
    public async Task Callback_answers_after_the_event_loop_is_empty_by_default()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", """
            export const handler = (event, context, callback) => {
              setTimeout(() => console.log("timer-fired"), 400);
              callback(null, { waits: context.callbackWaitsForEmptyEventLoop });
            };
            """);

        var result = await fn.Server.InvokeAsync("{}", tailLog: true);

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.True(result.Json().GetProperty("waits").GetBoolean());
        Assert.True(result.DurationMs >= 390, $"answered after {result.DurationMs} ms, before the timer");
        Assert.Contains("timer-fired", result.LogTail);
    }

    [Fact]
    public async Task Callback_answers_at_once_when_callbackWaitsForEmptyEventLoop_is_false_and_the_pending_work_runs_on()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", """
            export const handler = (event, context, callback) => {
              context.callbackWaitsForEmptyEventLoop = false;
              setTimeout(() => console.log("late-timer-fired"), 1500);
              callback(null, "at-once");
            };
            """);

        var result = await fn.Server.InvokeAsync("{}", tailLog: true);

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Equal("\"at-once\"", result.Text());
        Assert.True(result.DurationMs < 1200, $"answered after {result.DurationMs} ms");
        Assert.DoesNotContain("late-timer-fired", result.LogTail);
        await fn.Shim.WaitForLineAsync(l => l.Contains("late-timer-fired", StringComparison.Ordinal));
        var again = await fn.Server.InvokeAsync("{}");
        Assert.True(again.Outcome == InvocationOutcome.Success, again.Describe());
    }

    [Fact]
    public async Task Only_the_first_completion_counts()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", """
            export const handler = async (event, context, callback) => {
              callback(null, "from-callback");
              context.succeed("from-succeed");
              return "from-return";
            };
            """);

        var result = await fn.Server.InvokeAsync("{}");

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Equal("\"from-callback\"", result.Text());
    }

    [Fact]
    public async Task Result_that_cannot_be_stringified_is_an_error()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs",
            "export const handler = async () => { const a = {}; a.self = a; return a; };");

        var result = await fn.Server.InvokeAsync("{}");

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal("Unable to stringify response body", result.Json().GetProperty("errorMessage").GetString());
    }

    [Fact]
    public async Task Console_methods_print_lambda_text_lines_on_stdout()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", """
            export const handler = async () => {
              console.log("plain %s", "log");
              console.warn("careful", 42);
              console.error("multi\nline");
              return 1;
            };
            """);

        var result = await fn.Server.InvokeAsync("{}", tailLog: true);

        var lines = result.LogTail!.Split('\n');
        var id = Regex.Escape(result.RequestId);
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{id}\tINFO\tplain log$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"Z\t{id}\tWARN\tcareful 42$"));
        Assert.Contains(lines, l => l.EndsWith($"\t{result.RequestId}\tERROR\tmulti\rline", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Json_log_format_prints_one_object_a_line_and_the_log_level_drops_lower_levels()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", """
            export const handler = async (event) => {
              console.debug("dropped-debug");
              console.info("dropped-info");
              console.warn("kept", { n: 1 });
              console.error(new TypeError("bad thing"));
              if (event.fail) throw new RangeError("out of range");
              return 1;
            };
            """, new() { ["AWS_LAMBDA_LOG_FORMAT"] = "JSON", ["AWS_LAMBDA_LOG_LEVEL"] = "WARN" });

        var ok = await fn.Server.InvokeAsync("{}", tailLog: true);
        var failed = await fn.Server.InvokeAsync("""{"fail":true}""", tailLog: true);

        Assert.DoesNotContain("dropped-", ok.LogTail);
        var logged = JsonLines(ok.LogTail!);
        var warn = Assert.Single(logged, l => l.GetProperty("level").GetString() == "WARN");
        Assert.Equal("kept { n: 1 }", warn.GetProperty("message").GetString());
        Assert.Equal(ok.RequestId, warn.GetProperty("requestId").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", warn.GetProperty("timestamp").GetString());
        var error = Assert.Single(logged, l => l.GetProperty("level").GetString() == "ERROR");
        Assert.Equal("TypeError", error.GetProperty("message").GetProperty("errorType").GetString());
        Assert.Equal("bad thing", error.GetProperty("message").GetProperty("errorMessage").GetString());
        Assert.Equal("RangeError", failed.ErrorType);
        Assert.Contains(JsonLines(failed.LogTail!), l => l.GetProperty("level").GetString() == "ERROR"
            && l.GetProperty("message").ValueKind == JsonValueKind.Object
            && l.GetProperty("message").GetProperty("errorMessage").GetString() == "out of range");
    }

    internal static List<JsonElement> JsonLines(string log) =>
        [.. log.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement)];
}

/// <summary>Every case of <see cref="NodeBootstrapTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class NodeBootstrapTestsOnKestrel : NodeBootstrapTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
