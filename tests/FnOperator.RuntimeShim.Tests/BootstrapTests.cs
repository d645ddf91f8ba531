using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>Edge cases of the project's own node and python bootstraps: bad events, nested handlers, module-level errors.</summary>
public class BootstrapTests
{
    /// <summary>The Runtime API server these cases run against (<see cref="BootstrapTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private Task<FunctionUnderTest> StartFunctionAsync(
        Client client, double timeoutSeconds = 120, IReadOnlyDictionary<string, string>? extra = null, string? handlerFile = null) =>
        FunctionUnderTest.StartAsync(client, timeoutSeconds, extra, handlerFile, ApiServer);

    [Theory]
    [InlineData(Client.NodeBootstrap)]
    [InlineData(Client.PythonBootstrap)]
    public async Task Event_that_is_not_json_fails_with_unmarshal_error_and_the_runtime_keeps_serving(Client client)
    {
        await using var fn = await StartFunctionAsync(client);
        var first = await fn.InvokeAsync("ok", value: 0);
        Assert.Equal(1, first.Json().GetProperty("count").GetInt32());

        var bad = await fn.Server.InvokeAsync("{not json");
        var good = await fn.InvokeAsync("ok", value: 1);

        Assert.True(bad.Outcome == InvocationOutcome.FunctionError, bad.Describe());
        Assert.Equal("Runtime.UnmarshalError", bad.ErrorType);
        Assert.True(good.Outcome == InvocationOutcome.Success, good.Describe());
        Assert.Equal(2, good.Json().GetProperty("count").GetInt32());
    }

    [Theory]
    [InlineData(Client.NodeBootstrap, "lib/nested.mjs", "export const handler = async () => ({ where: 'nested' });")]
    [InlineData(Client.PythonBootstrap, "lib/nested.py", "def handler(event, context):\n    return {'where': 'nested'}\n")]
    public async Task Handler_in_a_subdirectory_is_found(Client client, string file, string code)
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-shim-nested-").FullName;
        Directory.CreateDirectory(Path.Combine(taskRoot, "lib"));
        File.WriteAllText(Path.Combine(taskRoot, file), code);
        await using var fn = await StartFunctionAsync(client,
            extra: new Dictionary<string, string> { ["LAMBDA_TASK_ROOT"] = taskRoot, ["_HANDLER"] = "lib/nested.handler" });

        var result = await fn.Server.InvokeAsync("{}");

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Equal("nested", result.Json().GetProperty("where").GetString());
    }

    [Theory]
    [InlineData(Client.NodeBootstrap, "app.mjs", "throw new RangeError('bad setting');\nexport const handler = async () => 1;", "RangeError")]
    [InlineData(Client.NodeBootstrap, "app.mjs", "export const handler = async ( => 1;", "Runtime.UserCodeSyntaxError")]
    [InlineData(Client.PythonBootstrap, "app.py", "raise KeyError('bad setting')\ndef handler(e, c):\n    return 1\n", "KeyError")]
    [InlineData(Client.PythonBootstrap, "app.py", "def handler(e, c:\n    return 1\n", "Runtime.UserCodeSyntaxError")]
    public async Task Error_while_loading_the_module_is_an_init_error_with_its_type(Client client, string file, string code, string errorType)
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-shim-initerr-").FullName;
        File.WriteAllText(Path.Combine(taskRoot, file), code);
        await using var fn = await StartFunctionAsync(client, extra: new Dictionary<string, string> { ["LAMBDA_TASK_ROOT"] = taskRoot });

        var result = await fn.Server.InvokeAsync("{}");

        Assert.True(result.Outcome == InvocationOutcome.FunctionError, result.Describe());
        Assert.Equal("Unhandled", result.FunctionError);
        Assert.Equal(errorType, result.ErrorType);
    }
}

/// <summary>Every case of <see cref="BootstrapTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class BootstrapTestsOnKestrel : BootstrapTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
