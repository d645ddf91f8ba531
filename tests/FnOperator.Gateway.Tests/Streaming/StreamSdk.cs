using System.Diagnostics;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Streaming;

/// <summary>Runs Streaming/node/stream-sdk.cjs: InvokeWithResponseStreamCommand of the AWS SDK for JavaScript v3.</summary>
public static class StreamSdk
{
    public static async Task<JsonObject> InvokeAsync(string endpoint, JsonObject plan)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "FnOperator.Gateway.Tests", "Streaming", "node", "stream-sdk.cjs");
        var modules = Path.Combine(RepoPaths.Root, "tests", "node", "node_modules");
        Assert.True(Directory.Exists(Path.Combine(modules, "@aws-sdk", "client-lambda")), "run 'make test-deps' (npm ci in tests/node)");
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        info.Environment["NODE_PATH"] = modules;
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        plan["endpoint"] = endpoint;
        using var process = Process.Start(info)!;
        await process.StandardInput.WriteAsync(plan.ToJsonString());
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr}");
        return JsonNode.Parse(output)!.AsObject();
    }
}
