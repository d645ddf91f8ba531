using FnOperator.Api;
using FnOperator.Operator.Tests.Controllers;

namespace FnOperator.Operator.Tests.Hosting;

/// <summary>The operator's HTTP endpoints: liveness, readiness (synced; leader or follower), Prometheus metrics.</summary>
public sealed class EndpointsTests : IAsyncLifetime
{
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync(operators: 2, settings: OperatorHarness.StableLease);

    public async Task DisposeAsync()
    {
        http.Dispose();
        await harness.DisposeAsync();
    }

    [Fact]
    public async Task Health_and_readiness_answer_on_leader_and_follower()
    {
        await Eventually.True(() => harness.Replicas.Count(r => r.Manager.IsLeading) == 1, "one leader elected");
        foreach (var replica in harness.Replicas)
        {
            Assert.Equal("ok", await http.GetStringAsync(new Uri(replica.Url + "/healthz")));
            await Eventually.True(async () => (await http.GetAsync(new Uri(replica.Url + "/readyz"))).IsSuccessStatusCode, "ready");
            var expected = replica.Manager.IsLeading ? "ok (leader)" : "ok (follower)";
            Assert.Equal(expected, await http.GetStringAsync(new Uri(replica.Url + "/readyz")));
        }
    }

    [Fact]
    public async Task Metrics_expose_reconciles_errors_durations_queue_depth_watch_restarts_and_leadership()
    {
        await Eventually.True(() => harness.Replicas.Count(r => r.Manager.IsLeading) == 1, "one leader elected");
        var leader = harness.Replicas.Single(r => r.Manager.IsLeading);
        var follower = harness.Replicas.Single(r => r != leader);
        await harness.CreateAsync(TestFunctions.Node("metered"));
        await harness.CreateAsync(TestFunctions.Node("broken", change: s => s.Runtime = "cobol1.0"));
        await harness.WaitReadyAsync("metered");
        await harness.WaitConditionAsync("broken", "Ready", "False", FunctionReasons.UnknownRuntime);
        harness.Server.DropWatches();
        await Eventually.True(() => leader.Metrics.WatchRestarts(Function.KindName, "error") + leader.Metrics.WatchRestarts(Function.KindName, "closed") > 0, "watch restarted");

        var text = await http.GetStringAsync(new Uri(leader.Url + "/metrics"));

        Assert.Matches("fnoperator_reconcile_total\\{kind=\"Function\",result=\"done\"\\} [1-9]", text);
        Assert.Matches("fnoperator_reconcile_total\\{kind=\"Function\",result=\"terminal\"\\} 1\\b", text);
        Assert.Contains("# TYPE fnoperator_reconcile_errors_total counter", text);
        Assert.Matches("fnoperator_reconcile_duration_seconds_count\\{kind=\"Function\"\\} [1-9]", text);
        Assert.Matches("fnoperator_reconcile_duration_seconds_bucket\\{kind=\"Function\",le=\"[0-9.]+\"\\}", text);
        Assert.Matches("fnoperator_workqueue_depth\\{kind=\"Function\"\\} \\d", text);
        Assert.Matches("fnoperator_watch_restarts_total\\{kind=\"Function\",reason=\"(error|closed)\"\\} [1-9]", text);
        Assert.Matches("(?m)^fnoperator_leader 1$", text);
        Assert.Matches("(?m)^fnoperator_leader 0$", await http.GetStringAsync(new Uri(follower.Url + "/metrics")));
    }
}
