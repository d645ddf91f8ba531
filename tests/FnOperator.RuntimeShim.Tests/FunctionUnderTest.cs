using System.Globalization;
using System.Text;
using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>The runtime clients the shim is tested against.</summary>
public enum Client
{
    /// <summary>AWS's aws-lambda-ric for Node.js (not written by this project), as a `provided` bootstrap.</summary>
    AwsLambdaRic,

    /// <summary>A bash + curl bootstrap in the style of AWS's custom-runtime tutorial.</summary>
    BashCurl,

    /// <summary>The project's own Node.js bootstrap (runtime nodejs22.x).</summary>
    NodeBootstrap,

    /// <summary>The project's own Python bootstrap (runtime python3.12).</summary>
    PythonBootstrap,

    /// <summary>The project's own .NET bootstrap (runtime dotnet8) over tests/FnOperator.DotnetFunctions.</summary>
    DotnetBootstrap,
}

/// <summary>A function's code in a temporary task root, a <see cref="PullServer"/> feeding it, and the shim process running it.</summary>
public sealed class FunctionUnderTest : IAsyncDisposable
{
    private FunctionUnderTest(string taskRoot, PullServer server, ShimProcess shim)
    {
        TaskRoot = taskRoot;
        Server = server;
        Shim = shim;
    }

    public string TaskRoot { get; }

    public PullServer Server { get; }

    public ShimProcess Shim { get; }

    public static string FunctionsDirectory => Path.Combine(Repo.Root, "tests", "FnOperator.RuntimeShim.Tests", "Functions");

    /// <param name="apiServer">The Runtime API server (FNOP_RUNTIME_API_SERVER: raw or kestrel); null: the shim's default.</param>
    /// <param name="handlerFile">A file of <see cref="FunctionsDirectory"/> to run instead of the client's usual one (node clients).</param>
    public static async Task<FunctionUnderTest> StartAsync(
        Client client, double timeoutSeconds = 120, IReadOnlyDictionary<string, string>? extra = null, string? handlerFile = null, string? apiServer = null)
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-shim-test-").FullName;
        var env = new Dictionary<string, string>
        {
            ["AWS_LAMBDA_FUNCTION_NAME"] = "fn",
            ["LAMBDA_TASK_ROOT"] = taskRoot,
            ["FNOP_TIMEOUT_SECONDS"] = timeoutSeconds.ToString(CultureInfo.InvariantCulture),
            ["FNOP_INIT_TIMEOUT_SECONDS"] = "90",
            ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "256",
        };
        switch (client)
        {
            case Client.AwsLambdaRic:
                File.Copy(Path.Combine(FunctionsDirectory, handlerFile ?? "ric.mjs"), Path.Combine(taskRoot, "app.mjs"));
                WriteExecutable(Path.Combine(taskRoot, "bootstrap"),
                    $"#!/bin/sh\nexec node {Path.Combine(Repo.NodeModules, "aws-lambda-ric", "index.mjs")}\n");
                env["FNOP_RUNTIME"] = "provided.al2023";
                env["_HANDLER"] = "app.handler";
                break;
            case Client.BashCurl:
                File.Copy(Path.Combine(FunctionsDirectory, "bash-function.sh"), Path.Combine(taskRoot, "function.sh"));
                WriteExecutable(Path.Combine(taskRoot, "bootstrap"), File.ReadAllText(Path.Combine(FunctionsDirectory, "bash-bootstrap.sh")));
                env["FNOP_RUNTIME"] = "provided.al2023";
                env["_HANDLER"] = "function.handler";
                break;
            case Client.NodeBootstrap:
                File.Copy(Path.Combine(FunctionsDirectory, handlerFile ?? "node.mjs"), Path.Combine(taskRoot, "app.mjs"));
                env["FNOP_RUNTIME"] = "nodejs22.x";
                env["_HANDLER"] = "app.handler";
                break;
            case Client.PythonBootstrap:
                File.Copy(Path.Combine(FunctionsDirectory, "python.py"), Path.Combine(taskRoot, "app.py"));
                env["FNOP_RUNTIME"] = "python3.12";
                env["_HANDLER"] = "app.handler";
                break;
            case Client.DotnetBootstrap:
                env["FNOP_RUNTIME"] = "dotnet8";
                env["LAMBDA_TASK_ROOT"] = Repo.DotnetFunctions;
                env["_HANDLER"] = DotnetHandler("Handlers::PocoAsync");
                break;
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        if (apiServer is not null)
        {
            env[ShimOptions.RuntimeApiServerVariable] = apiServer;
        }

        var server = await PullServer.StartAsync();
        env["FNOP_SOURCE_URL"] = server.BaseUrl;
        var shim = await ShimProcess.StartAsync(env);
        return new FunctionUnderTest(taskRoot, server, shim);
    }

    /// <summary>`FnOperator.DotnetFunctions::FnOperator.DotnetFunctions.{typeAndMethod}`.</summary>
    public static string DotnetHandler(string typeAndMethod) => $"FnOperator.DotnetFunctions::FnOperator.DotnetFunctions.{typeAndMethod}";

    public static void WriteExecutable(string path, string text)
    {
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    public Task<InvocationResult> InvokeAsync(string action, bool tailLog = false, object? value = null) =>
        Server.InvokeAsync(JsonSerializer.Serialize(new { action, value }), tailLog);

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

public static class ResultExtensions
{
    public static JsonElement Json(this InvocationResult result) => JsonDocument.Parse(result.Payload).RootElement;

    public static string Text(this InvocationResult result) => Encoding.UTF8.GetString(result.Payload);

    public static string Describe(this InvocationResult result) =>
        $"{result.Outcome} {result.FunctionError} {result.ErrorType}: {(result.Payload.Length > 500 ? result.Text()[..500] : result.Text())}";
}
