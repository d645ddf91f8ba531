using System.Diagnostics;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Auth;

/// <summary>The real AWS CLI v2 (/usr/bin/aws) and the AWS SDK for JavaScript v3 with given credentials (Auth/node/auth-sdk.cjs).</summary>
public static class AuthClients
{
    public sealed record CliResult(int ExitCode, string Stdout, string Stderr, string Body);

    /// <summary><c>aws lambda invoke</c> signed with this key; the response body is read from the out file.</summary>
    public static async Task<CliResult> CliInvokeAsync(Uri endpoint, string accessKeyId, string secretAccessKey, string functionName, string payload)
    {
        var outFile = Path.Combine(Path.GetTempPath(), $"fnop-auth-cli-{Guid.NewGuid():N}.json");
        var info = new ProcessStartInfo(AwsCli.Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            "lambda", "invoke", "--endpoint-url", endpoint.ToString().TrimEnd('/'), "--region", "us-east-1", "--function-name", functionName,
            "--cli-binary-format", "raw-in-base64-out", "--payload", payload, "--output", "json", outFile,
        })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["AWS_ACCESS_KEY_ID"] = accessKeyId;
        info.Environment["AWS_SECRET_ACCESS_KEY"] = secretAccessKey;
        info.Environment.Remove("AWS_SESSION_TOKEN");
        info.Environment.Remove("AWS_PROFILE");
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        info.Environment["AWS_PAGER"] = "";
        info.Environment["AWS_MAX_ATTEMPTS"] = "1";
        info.Environment["AWS_CONFIG_FILE"] = "/nonexistent/fnop-aws-config";
        info.Environment["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/fnop-aws-credentials";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        var body = File.Exists(outFile) ? await File.ReadAllTextAsync(outFile) : "";
        File.Delete(outFile);
        return new CliResult(process.ExitCode, await stdout, await stderr, body);
    }

    /// <summary>Runs auth-sdk.cjs with a plan (see the script's header) and returns its results by name.</summary>
    public static async Task<Dictionary<string, JsonObject>> SdkAsync(Uri endpoint, JsonArray calls, JsonArray? presign = null)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "FnOperator.Gateway.Tests", "Auth", "node", "auth-sdk.cjs");
        var modules = Path.Combine(RepoPaths.Root, "tests", "node", "node_modules");
        Assert.True(Directory.Exists(Path.Combine(modules, "@aws-sdk", "client-lambda")), "tests/node/node_modules lacks @aws-sdk/client-lambda");
        var info = new ProcessStartInfo("node") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.Environment["NODE_PATH"] = modules;
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        using var process = Process.Start(info)!;
        await process.StandardInput.WriteAsync(new JsonObject { ["endpoint"] = endpoint.ToString().TrimEnd('/'), ["calls"] = calls, ["presign"] = presign ?? [] }.ToJsonString());
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr}");
        return JsonNode.Parse(await stdout)!.AsArray().Select(r => r!.AsObject()).ToDictionary(r => (string)r["name"]!);
    }
}
