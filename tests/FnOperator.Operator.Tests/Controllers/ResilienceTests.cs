using FnOperator.Api;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>The operator against an API server that conflicts, drops watches, forgets watch history.</summary>
public sealed class ResilienceTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Functions_become_ready_and_roll_while_a_third_of_all_updates_conflict()
    {
        harness.Server.ConflictRate = 0.3;
        string[] names = ["c1", "c2", "c3", "c4"];
        foreach (var name in names)
        {
            await harness.CreateAsync(TestFunctions.Node(name));
        }

        foreach (var name in names)
        {
            await harness.WaitReadyAsync(name);
        }

        await harness.UpdateAsync("c1", s => s.MemoryMiB = 512);
        await harness.WaitReadyAsync("c1", generation: 2);

        Assert.True(harness.Server.Conflicts > 0, "the server answered some updates with 409");
        Assert.Equal("544Mi", (await harness.DeploymentAsync("c1"))!.Spec.Template.Spec.Containers[0].Resources.Limits["memory"].ToString());
        Assert.Equal(0, harness.Replicas[0].Metrics.ReconcileCount(Function.KindName, "terminal"));
    }

    [Fact]
    public async Task Changes_after_dropped_watches_are_still_reconciled()
    {
        await harness.CreateAsync(TestFunctions.Node("w1"));
        await harness.CreateAsync(TestFunctions.Node("w2"));
        await harness.WaitReadyAsync("w1");
        await harness.WaitReadyAsync("w2");
        var w2Uid = (await harness.DeploymentAsync("w2"))!.Metadata.Uid;

        harness.Server.DropWatches();
        await harness.UpdateAsync("w1", s => s.Environment = [new EnvironmentVariable { Name = "AFTER_DROP", Value = "1" }]);
        harness.Server.DropWatches();
        await harness.Client.AppsV1.DeleteNamespacedDeploymentAsync("w2-latest", "default");
        await harness.CreateAsync(TestFunctions.Node("w3"));

        await harness.WaitReadyAsync("w1", generation: 2);
        await harness.WaitReadyAsync("w3");
        Assert.Contains((await harness.DeploymentAsync("w1"))!.Spec.Template.Spec.Containers[0].Env, e => e.Name == "AFTER_DROP");
        await Eventually.True(async () => (await harness.DeploymentAsync("w2"))?.Metadata.Uid is { } uid && uid != w2Uid, "w2 deployment recreated");
        var metrics = harness.Replicas[0].Metrics;
        Assert.True(metrics.WatchRestarts(Function.KindName, "error") + metrics.WatchRestarts(Function.KindName, "closed") > 0, "watch restart counted");
    }

    [Fact]
    public async Task Api_server_restart_that_loses_watch_history_is_survived_by_relisting()
    {
        await harness.CreateAsync(TestFunctions.Node("r1"));
        await harness.WaitReadyAsync("r1");
        // An unrelated write first, so that both informers' last resourceVersions are older than the compaction.
        await harness.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "unrelated" } }, "default");

        // Down for a second (connections refused, watches cut), back with the event history compacted (410 Gone).
        await harness.Server.RestartAsync(compactHistory: true, downtime: TimeSpan.FromSeconds(1));

        var metrics = harness.Replicas[0].Metrics;
        await Eventually.True(() => metrics.WatchRestarts(Function.KindName, "expired") > 0 && metrics.WatchRestarts("Deployment", "expired") > 0, "both informers relisted");
        await harness.UpdateAsync("r1", s => s.Handler = "index.other");
        await harness.CreateAsync(TestFunctions.Node("r2"));

        await harness.WaitReadyAsync("r1", generation: 2);
        await harness.WaitReadyAsync("r2");
        Assert.Contains((await harness.DeploymentAsync("r1"))!.Spec.Template.Spec.Containers[0].Env, e => e is { Name: "_HANDLER", Value: "index.other" });
    }

    [Fact]
    public async Task Function_status_is_written_only_through_the_status_subresource()
    {
        await harness.CreateAsync(TestFunctions.Node("s1"));
        await harness.WaitReadyAsync("s1");
        await harness.UpdateAsync("s1", s => s.MemoryMiB = 256);
        await harness.WaitReadyAsync("s1", generation: 2);
        await harness.CreateAsync(TestFunctions.Node("s2", change: s => s.Runtime = "cobol1.0"));
        await harness.WaitConditionAsync("s2", "Ready", "False", FunctionReasons.UnknownRuntime);

        var writes = harness.Requests.Writes("/" + Function.Plural);
        Assert.NotEmpty(writes);
        Assert.All(writes, w => Assert.Equal(("PUT", "status"), (w.Method, w.Path.Split('/')[^1])));
        var stored = (await harness.GetAsync("s1"))!;
        Assert.Equal(256, stored.Spec.MemoryMiB); // the user's spec is untouched by the operator
    }
}
