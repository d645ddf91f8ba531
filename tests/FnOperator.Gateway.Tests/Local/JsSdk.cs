using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Runs tests/.../Local/node/lambda-sdk.cjs: the AWS SDK for JavaScript v3 Lambda client from tests/node/node_modules.</summary>
public static class JsSdk
{
    public sealed record Call(string FunctionName, JsonNode? Payload = null, string? InvocationType = null, string? LogType = null, int? PayloadBytes = null);

    public static async Task<IReadOnlyList<JsonObject>> InvokeAsync(string endpoint, params Call[] calls)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "FnOperator.Gateway.Tests", "Local", "node", "lambda-sdk.cjs");
        Assert.True(Directory.Exists(Path.Combine(RepoPaths.NodeModules, "@aws-sdk", "client-lambda")), "run 'make test-deps' (npm ci in tests/node)");
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        info.Environment["NODE_PATH"] = RepoPaths.NodeModules;
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        var plan = new JsonObject
        {
            ["endpoint"] = endpoint,
            ["calls"] = new JsonArray([.. calls.Select(c => (JsonNode)new JsonObject
            {
                ["functionName"] = c.FunctionName,
                ["payload"] = c.Payload?.DeepClone(),
                ["invocationType"] = c.InvocationType,
                ["logType"] = c.LogType,
                ["payloadBytes"] = c.PayloadBytes,
            })]),
        };
        using var process = Process.Start(info)!;
        await process.StandardInput.WriteAsync(plan.ToJsonString());
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr}");
        try
        {
            return JsonNode.Parse(output)!.AsArray().Select(r => r!.AsObject()).ToList();
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"unexpected SDK script output: {output}\n{await stderr}", e);
        }
    }
}
