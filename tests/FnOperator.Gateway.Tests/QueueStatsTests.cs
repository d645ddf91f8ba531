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
        JsonNode? version = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (version is null || (int)version["depth"]! != 4 || (int)version["waitingSync"]! != 1)
        {
            Assert.True(DateTime.UtcNow < deadline, $"stats did not reach depth 4 / waitingSync 1: {version}");
            await Task.Delay(50);
            var body = await gateway.Client.GetFromJsonAsync<JsonObject>("/_fnop/v1/stats");
            version = body!["versions"]!.AsArray().SingleOrDefault(v => (string?)v!["name"] == "scaled");
        }
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        Assert.Equal("$LATEST", (string?)version!["version"]);
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
        JsonNode? version = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (version is null || (int)version["depth"]! != 0 || (int)version["inFlight"]! != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"stats did not settle at depth 0 / inFlight 0: {version}");
            await Task.Delay(50);
            var body = await gateway.Client.GetFromJsonAsync<JsonObject>("/_fnop/v1/stats");
            version = body!["versions"]!.AsArray().SingleOrDefault(v => (string?)v!["name"] == "counted");
        }

        Assert.Equal(3, (long)version!["handOuts"]!);
        Assert.Equal("$LATEST", (string?)version["version"]);
    }
}
