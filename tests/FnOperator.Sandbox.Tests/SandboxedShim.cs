using System.Globalization;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.RuntimeShim.Tests;

namespace FnOperator.Sandbox.Tests;

/// <summary>The hostile function under a real runtime-shim process, fed by the test's pull server.</summary>
public sealed class SandboxedShim : IAsyncDisposable
{
    private SandboxedShim(string taskRoot, PullServer server, ShimProcess shim)
    {
        TaskRoot = taskRoot;
        Server = server;
        Shim = shim;
    }

    public string TaskRoot { get; }

    public PullServer Server { get; }

    public ShimProcess Shim { get; }

    public static async Task<SandboxedShim> StartAsync(int memoryMb = 256, double timeoutSeconds = 60, IReadOnlyDictionary<string, string>? extra = null)
    {
        var taskRoot = HostileFunction.WriteTaskRoot();
        var server = await PullServer.StartAsync();
        var env = new Dictionary<string, string>
        {
            ["AWS_LAMBDA_FUNCTION_NAME"] = "fn",
            ["LAMBDA_TASK_ROOT"] = taskRoot,
            ["FNOP_RUNTIME"] = "nodejs22.x",
            ["_HANDLER"] = "index.handler",
            ["FNOP_TIMEOUT_SECONDS"] = timeoutSeconds.ToString(CultureInfo.InvariantCulture),
            ["FNOP_INIT_TIMEOUT_SECONDS"] = "90",
            ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = memoryMb.ToString(CultureInfo.InvariantCulture),
            ["FNOP_SOURCE_URL"] = server.BaseUrl,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        return new SandboxedShim(taskRoot, server, await ShimProcess.StartAsync(env));
    }

    public Task<InvocationResult> InvokeAsync(object evt, string? requestId = null) =>
        Server.InvokeAsync(JsonSerializer.Serialize(evt), requestId: requestId);

    public async ValueTask DisposeAsync()
    {
        await Shim.DisposeAsync();
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(TaskRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
