using FnOperator.Api;
using FnOperator.Operator.Autoscaling;
using k8s;
using FnOperator.Operator.Tests.Controllers;
using FnOperator.Operator.Tests.Versions;
using Microsoft.Extensions.DependencyInjection;

namespace FnOperator.Operator.Tests.Autoscaling;

/// <summary>
/// The leader-only cluster autoscaler against the API test server (its Deployment simulator rolls replicas out):
/// inputs from a fake of the gateway's stats, decisions by the shared policy, actuation through Deployment /scale.
/// </summary>
public sealed class ClusterAutoscalerTests : IAsyncLifetime
{
    private readonly FakeGatewayStats stats = new();
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await StartAsync(1);

    public Task DisposeAsync() => harness.DisposeAsync().AsTask();

    private Task<OperatorHarness> StartAsync(int operators, string burst = "1000") => OperatorHarness.StartAsync(
        operators,
        settings: ["--Operator:Autoscaler:PollInterval", "00:00:00.100", "--Operator:Autoscaler:IdleOverride", "00:00:01", "--Operator:Autoscaler:BurstInstances", burst, "--Operator:Autoscaler:BurstWindow", "00:00:03"],
        services: s => s.AddSingleton<IScalingInputSource>(stats).AddSingleton<IWorkEventSource>(stats));

    private async Task<int?> ReplicasAsync(string fn) => (await harness.DeploymentAsync(fn))?.Spec.Replicas;

    /// <summary>Every count read (polling) until it is <paramref name="replicas"/>, 90 s at most.</summary>
    private async Task<List<int>> CountsUntilAsync(string fn, int replicas)
    {
        var seen = new List<int>();
        await Eventually.True(async () =>
        {
            seen.Add(await ReplicasAsync(fn) ?? -1);
            return seen[^1] == replicas;
        }, $"{fn} at {replicas}", timeoutSeconds: 90);
        return seen;
    }

    private Task WaitReplicasAsync(string fn, int replicas) =>
        Eventually.True(async () => await ReplicasAsync(fn) == replicas, $"{fn} at {replicas} replicas");

    [Fact]
    public async Task Scales_from_zero_to_demand_on_queued_work_and_back_to_zero_after_the_idle_window()
    {
        await harness.CreateAsync(TestFunctions.Node("burst", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 5 }));
        await Eventually.True(async () => await harness.DeploymentAsync("burst") is not null, "Deployment created");
        Assert.Equal("autoscaler", (await harness.DeploymentAsync("burst"))!.Metadata.Annotations["fnoperator.io/replicas-owner"]);
        await WaitReplicasAsync("burst", 0); // idle for the window: down to zero

        stats.Set("burst", depth: 3);
        await WaitReplicasAsync("burst", 3);
        stats.Set("burst", depth: 1, inFlight: 3);
        await WaitReplicasAsync("burst", 4);

        stats.Set("burst", depth: 0);
        await WaitReplicasAsync("burst", 0);
    }

    [Fact]
    public async Task Keeps_the_provisioned_floor_and_stops_at_max_replicas_and_reserved_concurrency()
    {
        await harness.CreateAsync(TestFunctions.Node("capped", change: s =>
        {
            s.Scaling = new ScalingSpec { MaxReplicas = 10 };
            s.Concurrency = new ConcurrencySpec { Provisioned = 2, Reserved = 3 };
        }));
        await harness.CreateAsync(TestFunctions.Node("maxed", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 4 }));
        stats.Set("capped", depth: 50);
        stats.Set("maxed", depth: 50);
        await WaitReplicasAsync("capped", 3); // reserved concurrency 3, one per pod
        await WaitReplicasAsync("maxed", 4);

        stats.Set("capped", depth: 0);
        stats.Set("maxed", depth: 0);
        await WaitReplicasAsync("capped", 2); // the floor, not zero
        await WaitReplicasAsync("maxed", 0);
        var reads = stats.Reads;
        await Eventually.True(() => stats.Reads > reads + 5, "more decisions taken");
        Assert.Equal(2, await ReplicasAsync("capped"));
    }

    [Fact]
    public async Task A_version_whose_short_invocations_come_and_go_between_polls_is_kept_and_shed_once_they_stop()
    {
        await harness.CreateAsync(TestFunctions.Node("trickle", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 3 }));
        await Eventually.True(async () => await harness.DeploymentAsync("trickle") is not null, "Deployment created");
        stats.Set("trickle", depth: 1);
        await WaitReplicasAsync("trickle", 1);

        // Nothing queued or in flight at any poll, but an invocation handed out (and done) every 100 ms: busy, so the
        // 1 s idle window never passes. Without the hand-out count the version is shed to zero after a second.
        stats.Set("trickle", depth: 0);
        using var stop = new CancellationTokenSource();
        var trickle = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                stats.HandOut("trickle");
                await Task.Delay(100).ConfigureAwait(false);
            }
        });
        var reads = stats.Reads;
        while (stats.Reads < reads + 40) // 40 polls of 100 ms: four idle windows
        {
            Assert.Equal(1, await ReplicasAsync("trickle"));
            await Task.Delay(100);
        }

        await stop.CancelAsync();
        await trickle;
        await WaitReplicasAsync("trickle", 0);
    }

    [Fact]
    public async Task A_push_of_work_at_zero_scales_the_version_up_without_a_poll()
    {
        await harness.CreateAsync(TestFunctions.Node("pushed", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 5 }));
        await harness.CreateAsync(TestFunctions.Node("unpushed", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 5 }));
        await WaitReplicasAsync("pushed", 0);
        await WaitReplicasAsync("unpushed", 0);

        // The stats cannot be read (the poll changes nothing, backing off), and they would say "no work" anyway:
        // only the push can start the version.
        stats.Unreachable = true;
        var reads = stats.Reads;
        await Eventually.True(() => stats.Reads > reads, "a failing poll happened");
        stats.Push("pushed");
        await WaitReplicasAsync("pushed", 1);
        Assert.Equal(0, await ReplicasAsync("unpushed"));

        // Back to polling: with no work, the pushed version returns to zero after its idle window.
        stats.Unreachable = false;
        await WaitReplicasAsync("pushed", 0);
    }

    [Fact]
    public async Task A_published_version_scales_within_the_limits_of_its_own_snapshot_not_the_current_spec()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("snap", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 2 }));
        await harness.WaitVersionsAsync("snap", 1);
        await harness.CreateAliasAsync("pinned", "snap", "1");
        await Eventually.True(async () => await harness.DeploymentNamedAsync("snap-v1") is not null, "snap-v1 Deployment", timeoutSeconds: 60);
        await harness.UpdateAsync("snap", s => s.Scaling = new ScalingSpec { MaxReplicas = 5 }); // $LATEST (and version 2) may run 5

        stats.Set("snap", depth: 10, version: "1");
        stats.Set("snap", depth: 10);
        await WaitReplicasAsync("snap", 5);
        await Eventually.True(async () => (await harness.DeploymentNamedAsync("snap-v1"))?.Spec.Replicas == 2, "snap-v1 at its own maxReplicas 2", timeoutSeconds: 60);
        var reads = stats.Reads;
        await Eventually.True(() => stats.Reads > reads + 5, "more decisions taken");
        Assert.Equal(2, (await harness.DeploymentNamedAsync("snap-v1"))!.Spec.Replicas);
    }

    [Fact]
    public async Task A_deployment_from_before_the_owner_annotation_is_adopted_and_then_autoscaled()
    {
        await harness.CreateAsync(TestFunctions.Node("legacy", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 5 }));
        await WaitReplicasAsync("legacy", 0);

        // As an older operator left it: no replicas-owner annotation, one replica.
        const string OldShape = """{"metadata":{"annotations":{"fnoperator.io/replicas-owner":null}},"spec":{"replicas":1}}""";
        await harness.Client.AppsV1.PatchNamespacedDeploymentAsync(new k8s.Models.V1Patch(OldShape, k8s.Models.V1Patch.PatchType.MergePatch), "legacy-latest", "default");
        stats.Set("legacy", depth: 3);

        await Eventually.True(
            async () => (await harness.DeploymentAsync("legacy"))?.Metadata.Annotations?.TryGetValue("fnoperator.io/replicas-owner", out var o) == true && o == "autoscaler",
            "the annotation is back (adopted)", timeoutSeconds: 60);
        await WaitReplicasAsync("legacy", 3);
    }

    [Fact]
    public async Task Versions_scale_independently()
    {
        await harness.CreateAsync(TestFunctions.Node("busy"));
        await harness.CreateAsync(TestFunctions.Node("quiet"));
        await WaitReplicasAsync("busy", 0);
        await WaitReplicasAsync("quiet", 0);

        stats.Set("busy", depth: 2);
        await WaitReplicasAsync("busy", 2);
        var reads = stats.Reads;
        await Eventually.True(() => stats.Reads > reads + 5, "more decisions taken");
        Assert.Equal(0, await ReplicasAsync("quiet"));
    }

    [Fact]
    public async Task A_new_leader_continues_a_scale_up_mid_way_without_scaling_down()
    {
        await harness.DisposeAsync();
        harness = await StartAsync(2, burst: "1"); // one instance per 3 s window per version: a slow, observable scale-up
        await harness.CreateAsync(TestFunctions.Node("failover", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 10 }));
        await WaitReplicasAsync("failover", 0);

        stats.Set("failover", depth: 4);
        await Eventually.True(async () => await ReplicasAsync("failover") >= 1, "scale-up started");
        var leader = harness.Replicas.Single(r => r.Manager.IsLeading);
        await leader.StopAsync();

        var seen = await CountsUntilAsync("failover", 4);
        Assert.Equal(seen.Order(), seen); // never went down on the way
        Assert.True(harness.Replicas.Single(r => r != leader).Manager.IsLeading);
    }

    [Fact]
    public async Task A_new_leader_whose_cache_lags_does_not_undo_the_former_leaders_scale_up()
    {
        await harness.DisposeAsync();
        harness = await StartAsync(2, burst: "1"); // one instance per 3 s window
        await harness.CreateAsync(TestFunctions.Node("lagged", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 10 }));
        await WaitReplicasAsync("lagged", 0);

        // Both replicas see every Deployment change 5 s late. The leader scales on from the counts it set itself; when
        // it stops at 3, the new leader's cache still says 1, and a scale "up" from 1 to 2 would take a pod away.
        harness.Server.Faults.SetWatchLag("apps/deployments", TimeSpan.FromSeconds(5));
        stats.Set("lagged", depth: 4);
        await Eventually.True(async () => await ReplicasAsync("lagged") >= 3, "scale-up at 3", timeoutSeconds: 90);
        var leader = harness.Replicas.Single(r => r.Manager.IsLeading);
        await leader.StopAsync();

        var seen = await CountsUntilAsync("lagged", 4);
        Assert.Equal(seen.Order(), seen);
        Assert.True(seen[0] >= 3, $"went down to {seen[0]}");
    }
}
