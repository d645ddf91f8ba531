using k8s;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.KubeApiServer;
using FnOperator.Operator.Autoscaling;
using FnOperator.Operator.Tests.Controllers;
using Microsoft.Extensions.DependencyInjection;

namespace FnOperator.Operator.Tests.Autoscaling;

/// <summary>
/// Scale-in never picks a busy pod: the API test server plays Deployment → ReplicaSet → Pods with the real
/// controller's scale-in ranking (ReplicaSetSimulator); the busy state is the gateway's stats signal
/// (<c>busyInstances</c>: the pods holding a lease, as the shims name themselves on their pull requests, see
/// InstanceLeasesTests in the gateway tests), faked here per pod name.
/// </summary>
public sealed class DrainAwareScaleInTests : IAsyncLifetime
{
    private readonly FakeGatewayStats stats = new();
    private OperatorHarness harness = null!;

    public async Task InitializeAsync()
    {
        harness = await OperatorHarness.StartAsync(
            1,
            settings: ["--Operator:Autoscaler:PollInterval", "00:00:00.100", "--Operator:Autoscaler:IdleOverride", "00:00:01"],
            services: s => s.AddSingleton<IScalingInputSource>(stats).AddSingleton<IWorkEventSource>(stats));
        harness.Server.SimulatePods = true;
    }

    public Task DisposeAsync() => harness.DisposeAsync().AsTask();

    private List<JsonObject> Pods(string fn) =>
        [.. harness.Server.Store.List("core/pods", "default").Items.Where(p => (string?)p["metadata"]?["labels"]?["fnoperator.io/function"] == fn && p["metadata"]?["deletionTimestamp"] is null)];

    private static string Name(JsonObject pod) => (string)pod["metadata"]!["name"]!;

    [Theory]
    [InlineData(4, 2, 2)]
    [InlineData(5, 1, 1)]
    [InlineData(5, 2, 3)]
    public async Task Scale_in_removes_idle_pods_and_keeps_every_busy_one(int running, int busyCount, int ceiling)
    {
        var fn = $"drain-{running}-{busyCount}-{ceiling}";
        await harness.CreateAsync(TestFunctions.Node(fn, change: s => s.Scaling = new ScalingSpec { MaxReplicas = running }));
        stats.Set(fn, depth: running);
        await Eventually.True(() => Pods(fn).Count(ReplicaSetSimulator.IsReady) == running, $"{running} pods ready", timeoutSeconds: 90);

        // The busy pods are the ones the ReplicaSet would remove first without a deletion cost (newest, ...): without
        // drain-aware ranking this scale-in would stop them mid-invocation.
        var busy = ReplicaSetSimulator.DeletionOrder(Pods(fn)).Take(busyCount).Select(Name).ToList();
        stats.Set(fn, depth: 0, inFlight: busyCount, busy: busy);

        // Lowering maxReplicas below the running pods while work is in flight: the ceiling forces a scale-in now.
        await harness.UpdateAsync(fn, s => s.Scaling = new ScalingSpec { MaxReplicas = ceiling });
        await Eventually.True(async () => (await harness.DeploymentAsync(fn))?.Spec.Replicas == ceiling, $"scaled to {ceiling}", timeoutSeconds: 90);
        await Eventually.True(() => Pods(fn).Count == ceiling, $"{ceiling} pods left", timeoutSeconds: 90);

        var left = Pods(fn).Select(Name).ToHashSet();
        Assert.Superset(busy.ToHashSet(), left);
        Assert.All(Pods(fn).Where(p => busy.Contains(Name(p))), p =>
            Assert.Equal("1000", (string?)p["metadata"]!["annotations"]![DeploymentScaler.DeletionCostAnnotation]));
    }

    [Fact]
    public async Task A_scale_in_right_after_a_scale_up_the_cache_has_not_shown_keeps_the_busy_pods()
    {
        // The operator sees every Deployment change 5 s late: right after its scale to 4 its cache still says 0.
        harness.Server.Faults.SetWatchLag("apps/deployments", TimeSpan.FromSeconds(5));
        await harness.CreateAsync(TestFunctions.Node("behind", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 4 }));
        stats.Set("behind", depth: 4);
        await Eventually.True(() => Pods("behind").Count(ReplicaSetSimulator.IsReady) == 4, "4 pods ready", timeoutSeconds: 90);

        // Two of them (the ones the ReplicaSet would remove first) take invocations, and the ceiling comes down to 2:
        // decided from the cached count, 2 would be a scale "up", made without ranking the pods.
        var busy = ReplicaSetSimulator.DeletionOrder(Pods("behind")).Take(2).Select(Name).ToList();
        stats.Set("behind", depth: 0, inFlight: 2, busy: busy);
        await harness.UpdateAsync("behind", s => s.Scaling = new ScalingSpec { MaxReplicas = 2 });
        await Eventually.True(() => Pods("behind").Count == 2, "2 pods left", timeoutSeconds: 90);

        Assert.Equal(busy.Order(), Pods("behind").Select(Name).Order());
        Assert.Equal(2, (await harness.DeploymentAsync("behind"))?.Spec.Replicas);
    }

    [Fact]
    public async Task Pods_that_became_idle_lose_their_high_deletion_cost_at_the_next_scale_in()
    {
        await harness.CreateAsync(TestFunctions.Node("relabel", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 3 }));
        stats.Set("relabel", depth: 3);
        await Eventually.True(() => Pods("relabel").Count(ReplicaSetSimulator.IsReady) == 3, "3 pods ready", timeoutSeconds: 90);
        var order = ReplicaSetSimulator.DeletionOrder(Pods("relabel")).Select(Name).ToList();

        // First scale-in (3 → 2): pod 0 busy, pod 1 idle.
        stats.Set("relabel", depth: 0, inFlight: 1, busy: [order[0]]);
        await harness.UpdateAsync("relabel", s => s.Scaling = new ScalingSpec { MaxReplicas = 2 });
        await Eventually.True(() => Pods("relabel").Count == 2, "2 pods left", timeoutSeconds: 90);
        Assert.Contains(order[0], Pods("relabel").Select(Name));

        // Second (2 → 1): now the other one is busy and the first idle again; its cost must come down or it would stay.
        var other = Pods("relabel").Select(Name).Single(n => n != order[0]);
        stats.Set("relabel", depth: 0, inFlight: 1, busy: [other]);
        await harness.UpdateAsync("relabel", s => s.Scaling = new ScalingSpec { MaxReplicas = 1 });
        await Eventually.True(() => Pods("relabel").Count == 1, "1 pod left", timeoutSeconds: 90);
        Assert.Equal(other, Name(Pods("relabel").Single()));
    }

    [Fact]
    public async Task Costs_follow_the_busy_state_between_scale_ins_so_a_scale_in_by_someone_else_keeps_the_busy_pod()
    {
        await harness.CreateAsync(TestFunctions.Node("outside", change: s => s.Scaling = new ScalingSpec { MaxReplicas = 3 }));
        stats.Set("outside", depth: 3);
        await Eventually.True(() => Pods("outside").Count(ReplicaSetSimulator.IsReady) == 3, "3 pods ready", timeoutSeconds: 90);

        // The pod the ReplicaSet would remove first gets busy; demand 2 of 3 pods: the autoscaler keeps 3 (not idle) and
        // does not scale in itself, but the busy pod's cost is raised anyway.
        var busy = Name(ReplicaSetSimulator.DeletionOrder(Pods("outside"))[0]);
        stats.Set("outside", depth: 1, inFlight: 1, busy: [busy]);
        await Eventually.True(
            () => Pods("outside").Any(p => Name(p) == busy && (string?)p["metadata"]?["annotations"]?[DeploymentScaler.DeletionCostAnnotation] == "1000"),
            "the busy pod's deletion cost raised without a scale-in of ours", timeoutSeconds: 60);

        // Someone else scales in (kubectl scale): the ReplicaSet removes an idle pod, not the busy one.
        await harness.Client.AppsV1.PatchNamespacedDeploymentScaleAsync(
            new k8s.Models.V1Patch("""{"spec":{"replicas":2}}""", k8s.Models.V1Patch.PatchType.MergePatch), "outside-latest", "default");
        await Eventually.True(() => Pods("outside").Count == 2, "2 pods left", timeoutSeconds: 90);
        Assert.Contains(busy, Pods("outside").Select(Name));
    }
}
