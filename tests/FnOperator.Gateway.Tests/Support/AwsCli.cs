using System.Diagnostics;
using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Support;

/// <summary>The real AWS CLI v2 (/usr/bin/aws) with dummy credentials and no retries, for the gateway and local-mode tests.</summary>
public static class AwsCli
{
    public const string Path = "/usr/bin/aws";

    public sealed record Result(int ExitCode, string Stdout, string Stderr, string OutFile)
    {
        public JsonObject Json => JsonNode.Parse(Stdout)!.AsObject();
    }

    /// <summary>Runs <c>aws lambda invoke</c> with the payload; the response body is read from the out file.</summary>
    public static async Task<Result> InvokeAsync(string endpoint, string functionName, string payload, params string[] extra)
    {
        var outFile = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"fnop-cli-{Guid.NewGuid():N}.json");
        string[] args =
        [
            "lambda", "invoke", "--endpoint-url", endpoint, "--region", "us-east-1", "--function-name", functionName,
            "--cli-binary-format", "raw-in-base64-out", "--payload", payload, .. extra, outFile,
        ];
        var (code, stdout, stderr) = await RunAsync(args);
        var body = File.Exists(outFile) ? await File.ReadAllTextAsync(outFile) : "";
        File.Delete(outFile);
        return new Result(code, stdout, stderr, body);
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        Assert.True(File.Exists(Path), "the AWS CLI v2 is not installed at /usr/bin/aws (Debian package awscli)");
        var info = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["AWS_ACCESS_KEY_ID"] = "local";
        info.Environment["AWS_SECRET_ACCESS_KEY"] = "local";
        info.Environment["AWS_REGION"] = "us-east-1";
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        info.Environment["AWS_PAGER"] = "";
        info.Environment["AWS_MAX_ATTEMPTS"] = "1";
        info.Environment["AWS_CONFIG_FILE"] = "/nonexistent/fnop-aws-config";
        info.Environment["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/fnop-aws-credentials";
        info.Environment.Remove("AWS_PROFILE");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
