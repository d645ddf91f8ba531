using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>Log tail, init failures, handler styles, shutdown drain and release, source closing.</summary>
public class LifecycleTests
{
    /// <summary>The Runtime API server these cases run against (<see cref="LifecycleTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private Task<FunctionUnderTest> StartFunctionAsync(
        Client client, double timeoutSeconds = 120, IReadOnlyDictionary<string, string>? extra = null, string? handlerFile = null) =>
        FunctionUnderTest.StartAsync(client, timeoutSeconds, extra, handlerFile, ApiServer);

    [Theory]
    [InlineData(Client.NodeBootstrap)]
    [InlineData(Client.PythonBootstrap)]
    [InlineData(Client.BashCurl)]
    public async Task Log_tail_holds_the_invocation_log_from_start_to_report_only_when_asked(Client client)
    {
        await using var fn = await StartFunctionAsync(client);

        var tailed = await fn.InvokeAsync("ok", tailLog: true, value: 7);
        var plain = await fn.InvokeAsync("ok", value: 8);

        Assert.True(tailed.Outcome == InvocationOutcome.Success, tailed.Describe());
        Assert.NotNull(tailed.LogTail);
        Assert.StartsWith($"START RequestId: {tailed.RequestId} Version: $LATEST\n", tailed.LogTail);
        Assert.Contains("hello-from-handler", tailed.LogTail);
        Assert.Contains($"END RequestId: {tailed.RequestId}\n", tailed.LogTail);
        Assert.Contains($"REPORT RequestId: {tailed.RequestId}\tDuration: ", tailed.LogTail);
        Assert.Null(plain.LogTail);
        await fn.Shim.WaitForLineAsync(l => l.Contains("hello-from-handler", StringComparison.Ordinal) && l.Contains('8'));
    }

    [Fact]
    public async Task Log_tail_is_cut_to_the_last_4_KB()
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-shim-chatty-").FullName;
        File.WriteAllText(Path.Combine(taskRoot, "app.mjs"),
            "export const handler = async () => { for (let i = 0; i < 200; i++) console.log('line-' + i + '-' + 'z'.repeat(60)); return 1; };");
        await using var fn = await StartFunctionAsync(Client.NodeBootstrap, extra: new Dictionary<string, string> { ["LAMBDA_TASK_ROOT"] = taskRoot });

        var result = await fn.InvokeAsync("any", tailLog: true);

        Assert.NotNull(result.LogTail);
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(result.LogTail), 3000, 4096);
        Assert.DoesNotContain("START RequestId", result.LogTail);
        Assert.Contains("line-199-", result.LogTail);
        Assert.Contains($"REPORT RequestId: {result.RequestId}", result.LogTail);
    }

    [Theory]
    [InlineData(Client.NodeBootstrap, "missing.handler", "Runtime.ImportModuleError")]
    [InlineData(Client.NodeBootstrap, "app.nothere", "Runtime.HandlerNotFound")]
    [InlineData(Client.PythonBootstrap, "missing.handler", "Runtime.ImportModuleError")]
    [InlineData(Client.PythonBootstrap, "app.nothere", "Runtime.HandlerNotFound")]
    [InlineData(Client.AwsLambdaRic, "app.nothere", "Runtime.HandlerNotFound")]
    public async Task Init_failure_is_reported_with_lambda_error_type(Client client, string handler, string errorType)
    {
        await using var fn = await StartFunctionAsync(client, extra: new Dictionary<string, string> { ["_HANDLER"] = handler });

        var first = await fn.InvokeAsync("ok");
        var second = await fn.InvokeAsync("ok");

        foreach (var result in new[] { first, second })
        {
            Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
            Assert.Equal("Unhandled", result.FunctionError);
            Assert.Equal(errorType, result.ErrorType);
        }
    }

    [Fact]
    public async Task Failed_init_is_not_restarted_in_a_loop_while_no_work_arrives()
    {
        await using var fn = await StartFunctionAsync(Client.NodeBootstrap, extra: new Dictionary<string, string> { ["_HANDLER"] = "missing.handler" });
        await fn.Shim.WaitForLineAsync(l => l.Contains("Runtime.ImportModuleError", StringComparison.Ordinal));

        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.Single(fn.Shim.Errors.Split('\n'), l => l.Contains("Started runtime", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Timeout_kills_the_runtime_process_tree_including_grandchildren()
    {
        await using var fn = await StartFunctionAsync(Client.BashCurl, timeoutSeconds: 2);

        var result = await fn.InvokeAsync("sleep");

        Assert.Equal("Sandbox.Timedout", result.ErrorType);
        var grandchild = int.Parse(File.ReadAllText(Path.Combine(fn.TaskRoot, "sleep.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (IsAlive(grandchild) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.False(IsAlive(grandchild), $"the handler's child process {grandchild} outlived the timeout");
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z') is false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Runtime_command_replaces_the_built_in_runtime_choice()
    {
        // As the operator does with an AWS base image's /lambda-entrypoint.sh: the runtime id stays, the command wins.
        var marker = Path.Combine(Path.GetTempPath(), "fnop-command-" + Guid.NewGuid().ToString("N"));
        var ric = Path.Combine(Repo.NodeModules, "aws-lambda-ric", "index.mjs");
        await using var fn = await StartFunctionAsync(Client.AwsLambdaRic, extra: new Dictionary<string, string>
        {
            ["FNOP_RUNTIME"] = "nodejs22.x",
            ["FNOP_RUNTIME_COMMAND"] = $"touch {marker} && node {ric}",
        });

        var result = await fn.InvokeAsync("ok", value: 9);

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Equal(9, result.Json().GetProperty("value").GetInt32());
        Assert.True(File.Exists(marker), "the runtime was started by FNOP_RUNTIME_COMMAND");
        File.Delete(marker);
    }

    [Fact]
    public async Task Provided_runtime_without_bootstrap_fails_with_invalid_entrypoint()
    {
        var empty = Directory.CreateTempSubdirectory("fnop-shim-empty-").FullName;
        await using var fn = await StartFunctionAsync(Client.BashCurl, extra: new Dictionary<string, string> { ["LAMBDA_TASK_ROOT"] = empty });

        var result = await fn.InvokeAsync("ok");

        Assert.Equal("Runtime.InvalidEntrypoint", result.ErrorType);
        Assert.Contains("bootstrap", result.Json().GetProperty("errorMessage").GetString());
    }

    [Fact]
    public async Task Node_bootstrap_runs_async_and_callback_handlers_and_ignores_a_sync_return_value_as_lambda_does()
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-shim-styles-").FullName;
        File.WriteAllText(Path.Combine(taskRoot, "styles.mjs"), """
            export const asyncStyle = async (event) => ({ style: "async", n: event.n });
            export const syncStyle = (event) => ({ style: "sync", n: event.n });
            export const callbackStyle = (event, context, callback) => setImmediate(() => callback(null, { style: "callback", n: event.n }));
            """);
        File.WriteAllText(Path.Combine(taskRoot, "common.js"), "exports.handler = async (event) => ({ style: 'commonjs', n: event.n });");
        foreach (var (handler, style) in new[] { ("styles.asyncStyle", "async"), ("styles.syncStyle", null), ("styles.callbackStyle", "callback"), ("common.handler", "commonjs") })
        {
            await using var fn = await StartFunctionAsync(Client.NodeBootstrap,
                extra: new Dictionary<string, string> { ["LAMBDA_TASK_ROOT"] = taskRoot, ["_HANDLER"] = handler });

            var result = await fn.Server.InvokeAsync("""{"n":5}""");

            Assert.True(result.Outcome == InvocationOutcome.Success, handler + ": " + result.Describe());
            if (style is null)
            {
                // Lambda's Node.js runtime ignores a non-async handler's return value and answers null once the event loop is empty.
                Assert.Equal("null", result.Text());
                continue;
            }

            Assert.Equal(style, result.Json().GetProperty("style").GetString());
            Assert.Equal(5, result.Json().GetProperty("n").GetInt32());
        }
    }

    [Fact]
    public async Task Python_bootstrap_runs_coroutine_handlers()
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-shim-async-py-").FullName;
        File.WriteAllText(Path.Combine(taskRoot, "app.py"), "import asyncio\nasync def handler(event, context):\n    await asyncio.sleep(0)\n    return {'n': event['n'] * 2}\n");
        await using var fn = await StartFunctionAsync(Client.PythonBootstrap, extra: new Dictionary<string, string> { ["LAMBDA_TASK_ROOT"] = taskRoot });

        var result = await fn.Server.InvokeAsync("""{"n":21}""");

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Equal(42, result.Json().GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task Own_node_bootstrap_passes_the_lambda_context_and_headers_to_the_handler()
    {
        await using var fn = await StartFunctionAsync(Client.NodeBootstrap);

        var result = await fn.InvokeAsync("ok", value: 1);

        var json = result.Json();
        Assert.Equal(result.RequestId, json.GetProperty("requestId").GetString());
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:fn", json.GetProperty("arn").GetString());
        Assert.True(json.GetProperty("hasTime").GetBoolean());
        Assert.Equal("v", json.GetProperty("clientContext").GetProperty("custom").GetProperty("k").GetString());
        Assert.StartsWith("Root=1-5759e988", json.GetProperty("trace").GetString());
        Assert.Equal("fn", json.GetProperty("functionName").GetString());
        Assert.Equal("256", json.GetProperty("memory").GetString());
    }

    [Fact]
    public async Task Sigterm_drains_the_in_flight_invocation_before_the_shim_exits()
    {
        await using var fn = await StartFunctionAsync(Client.NodeBootstrap);
        var slow = fn.Server.Enqueue("""{"action":"slow","value":3000}""");
        await fn.Shim.WaitForLineAsync(l => l == $"START RequestId: {slow.RequestId} Version: $LATEST");

        fn.Shim.Terminate();

        var result = await fn.Server.ResultAsync(slow.RequestId);
        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.True(result.Json().GetProperty("slow").GetBoolean());
        Assert.Equal(0, await fn.Shim.Exited.WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Sigterm_releases_an_invocation_that_has_not_reached_the_runtime()
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-shim-slow-init-").FullName;
        FunctionUnderTest.WriteExecutable(Path.Combine(taskRoot, "bootstrap"), "#!/bin/sh\nexec sleep 3600\n");
        await using var fn = await StartFunctionAsync(Client.BashCurl,
            extra: new Dictionary<string, string> { ["LAMBDA_TASK_ROOT"] = taskRoot, ["FNOP_LOG_LEVEL"] = "Debug" });
        var invocation = fn.Server.Enqueue("{}");
        while (!fn.Shim.Errors.Contains($"Received invocation, requestId={invocation.RequestId}", StringComparison.Ordinal))
        {
            await Task.Delay(50);
        }

        fn.Shim.Terminate();

        Assert.Equal(0, await fn.Shim.Exited.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.True(fn.Server.Released.Contains(invocation.RequestId), "not released; shim stderr:\n" + fn.Shim.Errors);
    }

    [Fact]
    public async Task Unreachable_source_is_retried_and_the_shim_stays_up()
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-shim-nosource-").FullName;
        File.Copy(Path.Combine(FunctionUnderTest.FunctionsDirectory, "node.mjs"), Path.Combine(taskRoot, "app.mjs"));
        await using var shim = await ShimProcess.StartAsync(new Dictionary<string, string>
        {
            [ShimOptions.RuntimeApiServerVariable] = ApiServer,
            ["AWS_LAMBDA_FUNCTION_NAME"] = "fn",
            ["FNOP_RUNTIME"] = "nodejs22.x",
            ["_HANDLER"] = "app.handler",
            ["LAMBDA_TASK_ROOT"] = taskRoot,
            ["FNOP_SOURCE_URL"] = "http://127.0.0.1:1",
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        while (!shim.Errors.Contains("Invocation source request failed", StringComparison.Ordinal))
        {
            Assert.False(shim.Exited.IsCompleted, "the shim exited:\n" + shim.Errors);
            await Task.Delay(100);
        }

        using var health = await http.GetAsync($"http://{shim.Http}/healthz");
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        Assert.False(shim.Exited.IsCompleted);
        Directory.Delete(taskRoot, recursive: true);
    }

    [Fact]
    public async Task Shim_exits_cleanly_when_the_source_says_the_function_is_gone()
    {
        await using var fn = await StartFunctionAsync(Client.NodeBootstrap);

        fn.Server.Close();

        Assert.Equal(0, await fn.Shim.Exited.WaitAsync(TimeSpan.FromSeconds(90)));
    }
}

/// <summary>Every case of <see cref="LifecycleTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class LifecycleTestsOnKestrel : LifecycleTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
