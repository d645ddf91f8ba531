using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>The real AWS CLI v2 (/usr/bin/aws) against the gateway.</summary>
public sealed class AwsCliTests
{
    [Fact]
    public async Task Aws_cli_invokes_sync_with_tail_log_event_and_reports_unknown_functions()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = gateway.Add("cli-echo", ns: "team");
        await using var worker = new TestWorker(gateway.BaseAddress, key,
            inv => TestWorker.Ok(inv, Encoding.UTF8.GetString(inv.Payload), inv.TailLog ? "START\nlogged by the function\nEND\n" : null));
        var outFile = Path.GetTempFileName();
        try
        {
            var (syncExit, syncOut, _) = await AwsAsync(gateway, "lambda", "invoke", "--function-name", "team/cli-echo", "--cli-binary-format", "raw-in-base64-out",
                "--payload", """{"via":"cli"}""", "--log-type", "Tail", outFile);
            var (eventExit, eventOut, _) = await AwsAsync(gateway, "lambda", "invoke", "--function-name", "team.cli-echo", "--invocation-type", "Event",
                "--cli-binary-format", "raw-in-base64-out", "--payload", "{}", outFile);
            var (missingExit, _, missingErr) = await AwsAsync(gateway, "lambda", "invoke", "--function-name", "nope", outFile);

            Assert.Equal(0, syncExit);
            var sync = JsonNode.Parse(syncOut)!;
            Assert.Equal(200, (int)sync["StatusCode"]!);
            Assert.Equal("$LATEST", (string?)sync["ExecutedVersion"]);
            Assert.Contains("logged by the function", Encoding.UTF8.GetString(Convert.FromBase64String((string)sync["LogResult"]!)), StringComparison.Ordinal);
            Assert.Equal(0, eventExit);
            Assert.Equal(202, (int)JsonNode.Parse(eventOut)!["StatusCode"]!);
            Assert.NotEqual(0, missingExit);
            Assert.Contains("ResourceNotFoundException", missingErr, StringComparison.Ordinal);
            await TestWait.UntilAsync(() => worker.Received.Count == 2);
        }
        finally
        {
            File.Delete(outFile);
        }
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> AwsAsync(TestGateway gateway, params string[] args) =>
        AwsCli.RunAsync([.. args, "--endpoint-url", gateway.BaseAddress.ToString().TrimEnd('/'), "--output", "json"]);
}
