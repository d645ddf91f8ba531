using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>
/// The unmodified AWS SDK for JavaScript v3 Lambda client (tests/node/node_modules/@aws-sdk/client-lambda) against the
/// gateway: stands in for AWSSDK.Lambda, which this machine's NuGet source lacks.
/// </summary>
public sealed class AwsSdkJavaScriptTests
{
    [Fact]
    public async Task Aws_sdk_for_javascript_invokes_through_the_gateway_parses_its_errors_and_async_failures_reach_the_destination()
    {
        await using var gateway = await TestGateway.StartAsync();
        var echo = gateway.Add("echo");
        var team = gateway.Add("gamma", ns: "team");
        var broken = gateway.Add("broken");
        gateway.Add("throttled", new FunctionSpec { Concurrency = new ConcurrencySpec { Reserved = 0 } });
        var flaky = gateway.Add("flaky", new FunctionSpec
        {
            Async = new AsyncSpec { MaximumRetryAttempts = 1, Destinations = new DestinationConfig { OnFailure = new Destination { Queue = "sdk-failures" } } },
        });
        await using var flakyWorker = new TestWorker(gateway.BaseAddress, flaky, inv => TestWorker.Fail(inv, "always"));
        var eventRan = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var echoWorker = new TestWorker(gateway.BaseAddress, echo, inv =>
        {
            if (inv.Type == Contracts.InvocationType.Event)
            {
                eventRan.TrySetResult(System.Text.Encoding.UTF8.GetString(inv.Payload));
            }

            return TestWorker.Ok(inv, System.Text.Encoding.UTF8.GetString(inv.Payload), inv.TailLog ? "START RequestId: x\nhello from the log\n" : null);
        });
        await using var teamWorker = new TestWorker(gateway.BaseAddress, team, inv => TestWorker.Ok(inv, "\"team\""));
        await using var brokenWorker = new TestWorker(gateway.BaseAddress, broken, inv => TestWorker.Fail(inv, "bad"));

        var results = await RunSdkAsync(gateway.BaseAddress, """
            [
              {"name": "sync", "FunctionName": "echo", "Payload": "{\"a\":1}"},
              {"name": "event", "FunctionName": "echo", "InvocationType": "Event", "Payload": "{\"e\":2}"},
              {"name": "tail", "FunctionName": "echo", "LogType": "Tail", "Payload": "{}"},
              {"name": "namespaced", "FunctionName": "team/gamma"},
              {"name": "arn", "FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:team.gamma"},
              {"name": "function-error", "FunctionName": "broken"},
              {"name": "async-failure", "FunctionName": "flaky", "InvocationType": "Event", "Payload": "{\"k\":1}"},
              {"name": "missing", "FunctionName": "missing"},
              {"name": "throttled", "FunctionName": "throttled"},
              {"name": "too-large", "FunctionName": "echo", "PayloadBytes": 6300000}
            ]
            """);

        Assert.Equal(200, (int)results["sync"]["statusCode"]!);
        Assert.Equal("""{"a":1}""", (string?)results["sync"]["payload"]);
        Assert.Equal("$LATEST", (string?)results["sync"]["executedVersion"]);
        Assert.Equal(202, (int)results["event"]["statusCode"]!);
        Assert.Equal("""{"e":2}""", await eventRan.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("hello from the log", (string?)results["tail"]["logResult"], StringComparison.Ordinal);
        Assert.Equal("\"team\"", (string?)results["namespaced"]["payload"]);
        Assert.Equal("\"team\"", (string?)results["arn"]["payload"]);
        Assert.Equal("Unhandled", (string?)results["function-error"]["functionError"]);
        Assert.Equal("ResourceNotFoundException", (string?)results["missing"]["error"]);
        Assert.Equal(404, (int)results["missing"]["httpStatus"]!);
        Assert.Equal("TooManyRequestsException", (string?)results["throttled"]["error"]);
        Assert.Equal(429, (int)results["throttled"]["httpStatus"]!);
        Assert.Equal("ReservedFunctionConcurrentInvocationLimitExceeded", (string?)results["throttled"]["reason"]);
        Assert.Equal("RequestTooLargeException", (string?)results["too-large"]["error"]);
        Assert.Equal(413, (int)results["too-large"]["httpStatus"]!);
        Assert.Equal(202, (int)results["async-failure"]["statusCode"]!);
        var record = await gateway.WaitForMessageAsync("sdk-failures");
        Assert.Equal("RetriesExhausted", (string?)record["requestContext"]!["condition"]);
        Assert.Equal(2, (int)record["requestContext"]!["approximateInvokeCount"]!);
        Assert.Equal([1, 2], flakyWorker.Received.Select(i => i.Attempt));
        Assert.Empty(await gateway.ReceiveAsync("default.flaky.dlq"));
    }

    private static async Task<Dictionary<string, JsonNode>> RunSdkAsync(Uri endpoint, string calls)
    {
        var callsFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(callsFile, calls);
        try
        {
            var script = Path.Combine(RepoPaths.Root, "tests", "FnOperator.Gateway.Tests", "Node", "lambda-sdk.cjs");
            var modules = Path.Combine(RepoPaths.Root, "tests", "node", "node_modules");
            var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { script, modules, endpoint.ToString().TrimEnd('/'), callsFile })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr}");
            return (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => JsonNode.Parse(line)!)
                .ToDictionary(n => (string)n["name"]!, n => n);
        }
        finally
        {
            File.Delete(callsFile);
        }
    }
}
