using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

public sealed class ObservabilityTests
{
    [Fact]
    public async Task Metrics_count_invocations_errors_throttles_cold_starts_and_report_queue_depth_per_function()
    {
        await using var gateway = await TestGateway.StartAsync();
        var key = gateway.Add("measured");
        gateway.Add("queued");
        gateway.Add("off", new FunctionSpec { Concurrency = new ConcurrencySpec { Reserved = 0 } });
        var calls = 0;
        await using var worker = new TestWorker(gateway.BaseAddress, key, inv => Interlocked.Increment(ref calls) switch
        {
            1 => TestWorker.Ok(inv, "1") with { InitDurationMs = 250 },
            2 => TestWorker.Ok(inv, "2"),
            _ => TestWorker.Fail(inv, errorType: "Sandbox.Timedout"),
        });
        for (var i = 0; i < 3; i++)
        {
            using var _ = await gateway.Client.SendAsync(TestGateway.Invoke("measured"));
        }

        using var throttled = await gateway.Client.SendAsync(TestGateway.Invoke("off"));
        using var queued = await gateway.Client.SendAsync(TestGateway.Invoke("queued", "{}", "Event"));
        var metrics = await gateway.Client.GetStringAsync("/metrics");

        Assert.Contains("""fnop_gateway_invocations_total{namespace="default",function="measured",type="RequestResponse"} 3""", metrics, StringComparison.Ordinal);
        Assert.Contains("""fnop_gateway_function_errors_total{namespace="default",function="measured",error_type="Sandbox.Timedout"} 1""", metrics, StringComparison.Ordinal);
        Assert.Contains("""fnop_gateway_cold_starts_total{namespace="default",function="measured"} 1""", metrics, StringComparison.Ordinal);
        Assert.Contains("""fnop_gateway_invocation_duration_seconds_count{namespace="default",function="measured"} 3""", metrics, StringComparison.Ordinal);
        Assert.Contains("""fnop_gateway_throttles_total{namespace="default",function="off",reason="ReservedFunctionConcurrentInvocationLimitExceeded"} 1""", metrics, StringComparison.Ordinal);
        Assert.Contains("""fnop_gateway_queue_depth{namespace="default",function="queued"} 1""", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_readiness_and_function_listing_answer()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Add("listed", new FunctionSpec { Runtime = "python3.12", Handler = "app.handler", MemoryMiB = 256, TimeoutSeconds = 9 }, ns: "team");

        Assert.Equal("ok", await gateway.Client.GetStringAsync("/healthz"));
        Assert.Equal("ready", await gateway.Client.GetStringAsync("/readyz"));
        var function = (await gateway.Client.GetFromJsonAsync<JsonObject>("/2015-03-31/functions/team.listed"))!;
        var list = (await gateway.Client.GetFromJsonAsync<JsonObject>("/2015-03-31/functions/"))!;
        using var missing = await gateway.Client.GetAsync("/2015-03-31/functions/nope");

        Assert.Equal("team.listed", (string?)function["Configuration"]!["FunctionName"]);
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:team.listed", (string?)function["Configuration"]!["FunctionArn"]);
        Assert.Equal(256, (int)function["Configuration"]!["MemorySize"]!);
        Assert.Equal(9, (int)function["Configuration"]!["Timeout"]!);
        Assert.Equal("python3.12", (string?)list["Functions"]![0]!["Runtime"]);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Destination_queue_endpoint_rejects_bad_names_and_counts()
    {
        await using var gateway = await TestGateway.StartAsync();

        using var badName = await gateway.Client.GetAsync("/_fnop/v1/queues/bad%20name/messages");
        using var badMax = await gateway.Client.GetAsync("/_fnop/v1/queues/ok/messages?max=0");
        var empty = await gateway.ReceiveAsync("ok");

        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badMax.StatusCode);
        Assert.Empty(empty);
    }

    [Fact]
    public void Invalid_options_are_rejected_with_clear_errors()
    {
        var errors = new GatewayOptions { Listen = ["nowhere"], MaxSyncPayloadBytes = 0 }.Validate();

        Assert.Contains(errors, e => e.Contains("'nowhere' is not host:port", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("payload limits", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => GatewayApp.Build(new GatewayOptions { Listen = [] }));
    }

    [Theory]
    [InlineData(new string[0], 2)]
    [InlineData(new[] { "bogus" }, 2)]
    [InlineData(new[] { "serve", "--listen" }, 2)]
    [InlineData(new[] { "serve", "--colour", "red" }, 2)]
    [InlineData(new[] { "serve", "--listen", "not-an-address" }, 2)]
    [InlineData(new[] { "--help" }, 0)]
    public async Task Command_line_mistakes_exit_2_with_usage(string[] args, int exitCode)
    {
        Assert.Equal(exitCode, await Cli.RunAsync(args, CancellationToken.None));
    }
}
