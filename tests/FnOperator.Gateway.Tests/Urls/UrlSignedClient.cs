using System.Diagnostics;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Local;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>Runs Urls/node/url-signed.cjs: one request to a Function URL signed by the AWS SDK for JavaScript's SigV4 signer.</summary>
internal static class UrlSignedClient
{
    public sealed record Result(int Status, JsonObject Headers, string Body);

    public static async Task<Result> SendAsync(string url, string accessKeyId, string secretAccessKey, string method = "GET", string body = "", bool unsigned = false)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "FnOperator.Gateway.Tests", "Urls", "node", "url-signed.cjs");
        var modules = Path.Combine(RepoPaths.Root, "tests", "node", "node_modules");
        Assert.True(Directory.Exists(Path.Combine(modules, "@smithy", "signature-v4")), "tests/node/node_modules lacks @smithy/signature-v4");
        var info = new ProcessStartInfo("node") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.Environment["NODE_PATH"] = modules;
        using var process = Process.Start(info)!;
        await process.StandardInput.WriteAsync(new JsonObject
        {
            ["url"] = url, ["method"] = method, ["body"] = body, ["accessKeyId"] = accessKeyId, ["secretAccessKey"] = secretAccessKey,
            ["region"] = "us-east-1", ["unsigned"] = unsigned, ["headers"] = new JsonObject { ["content-type"] = "application/json" },
        }.ToJsonString());
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr}");
        var result = JsonNode.Parse(await stdout)!.AsObject();
        return new Result((int)result["status"]!, result["headers"]!.AsObject(), (string)result["body"]!);
    }
}
