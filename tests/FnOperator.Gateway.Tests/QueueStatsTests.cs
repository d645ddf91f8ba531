using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>The autoscaler's inputs per function version.</summary>
public sealed class QueueStatsTests
{
    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Stats_endpoint_reports_depth_and_waiting_sync_callers_per_function_version(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        gateway.Add("scaled");
        for (var i = 0; i < 3; i++)
        {
            using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("scaled", "{}", "Event"));
        }

        using var cts = new CancellationTokenSource();
        var waiting = gateway.Client.SendAsync(TestGateway.Invoke("scaled", "{}"), cts.Token);
        var version = await WaitForVersionAsync(gateway, "scaled", v => (int)v["depth"]! == 4 && (int)v["waitingSync"]! == 1, "depth 4 / waitingSync 1");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        Assert.Equal("$LATEST", (string?)version["version"]);
        Assert.Equal("default", (string?)version["namespace"]);
        Assert.Equal(0, (int)version["inFlight"]!);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Stats_endpoint_counts_the_invocations_handed_out_per_version_after_they_are_done(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        gateway.Add("counted");
        await using var worker = new TestWorker(gateway.BaseAddress, new("default", "counted"), TestWorker.Echo);
        for (var i = 0; i < 3; i++)
        {
            using var answered = await gateway.Client.SendAsync(TestGateway.Invoke("counted", "{}"));
            Assert.Equal(System.Net.HttpStatusCode.OK, answered.StatusCode);
        }

        // Nothing queued or in flight is left: only the count says that the version was busy (the autoscaler's input).
        var version = await WaitForVersionAsync(gateway, "counted", v => (int)v["depth"]! == 0 && (int)v["inFlight"]! == 0, "depth 0 / inFlight 0");

        Assert.Equal(3, (long)version["handOuts"]!);
        Assert.Equal("$LATEST", (string?)version["version"]);
    }

    /// <summary>Polls the stats (60 s bound) until the function's version entry satisfies <paramref name="reached"/>; returns it.</summary>
    private static async Task<JsonNode> WaitForVersionAsync(TestGateway gateway, string function, Func<JsonNode, bool> reached, string what)
    {
        JsonNode? version = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (version is null || !reached(version))
        {
            Assert.True(DateTime.UtcNow < deadline, $"stats did not reach {what}: {version}");
            await Task.Delay(50);
            var body = await gateway.Client.GetFromJsonAsync<JsonObject>("/_fnop/v1/stats");
            version = body!["versions"]!.AsArray().SingleOrDefault(v => (string?)v!["name"] == function);
        }

        return version;
    }
}
