using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

/// <summary>
/// The Deployment → ReplicaSet → Pod simulation (Simulators/ReplicaSetSimulator.cs): pods created and made ready,
/// scale-in choosing victims by the real ReplicaSet controller's ranking.
/// </summary>
public sealed class ReplicaSetSimulatorTests : ServerTest
{
    protected override KubeApiServerOptions Options => new() { CrdDirectory = Fixtures.CrdDirectory, SimulatePods = true };

    private async Task<List<V1Pod>> PodsAsync(string app) =>
        [.. (await Client.CoreV1.ListNamespacedPodAsync("default", labelSelector: "app=" + app)).Items.Where(p => p.Metadata.DeletionTimestamp is null)];

    private async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(50);
        }
    }

    private static bool Ready(V1Pod p) => p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private Task ScaleAsync(string name, int replicas) =>
        Client.AppsV1.PatchNamespacedDeploymentScaleAsync(new V1Patch($"{{\"spec\":{{\"replicas\":{replicas}}}}}", V1Patch.PatchType.MergePatch), name, "default");

    private Task AnnotateCostAsync(string pod, int cost) =>
        Client.CoreV1.PatchNamespacedPodAsync(new V1Patch($"{{\"metadata\":{{\"annotations\":{{\"controller.kubernetes.io/pod-deletion-cost\":\"{cost}\"}}}}}}", V1Patch.PatchType.MergePatch), pod, "default");

    [Fact]
    public async Task A_deployment_gets_a_replicaset_and_ready_pods_owned_in_a_chain()
    {
        var d = await Client.AppsV1.CreateNamespacedDeploymentAsync(GenerationAndSubresourceTests.Deployment("web", 3), "default");
        await WaitAsync(async () => (await PodsAsync("web")).Count(Ready) == 3, "3 ready pods");

        var rs = (await Client.AppsV1.ListNamespacedReplicaSetAsync("default", labelSelector: "app=web")).Items.Single();
        Assert.Equal(d.Metadata.Uid, rs.Metadata.OwnerReferences.Single(o => o.Controller == true).Uid);
        Assert.Equal(3, rs.Spec.Replicas);
        await WaitAsync(async () => (await Client.AppsV1.ReadNamespacedReplicaSetAsync(rs.Metadata.Name, "default")).Status?.ReadyReplicas == 3, "replicaset status");
        foreach (var pod in await PodsAsync("web"))
        {
            Assert.Equal(rs.Metadata.Uid, pod.Metadata.OwnerReferences.Single().Uid);
            Assert.StartsWith(rs.Metadata.Name + "-", pod.Metadata.Name, StringComparison.Ordinal);
            Assert.Equal(rs.Metadata.Labels["pod-template-hash"], pod.Metadata.Labels["pod-template-hash"]);
            Assert.Equal("Running", pod.Status.Phase);
            Assert.Equal("busybox", pod.Spec.Containers.Single().Image);
        }

        await ScaleAsync("web", 5);
        await WaitAsync(async () => (await PodsAsync("web")).Count(Ready) == 5, "5 ready pods");
        await ScaleAsync("web", 0);
        await WaitAsync(async () => (await PodsAsync("web")).Count == 0, "no pods");
    }

    [Fact]
    public async Task Scale_in_removes_not_ready_pods_first_then_the_lowest_deletion_cost()
    {
        await Client.AppsV1.CreateNamespacedDeploymentAsync(GenerationAndSubresourceTests.Deployment("ranked", 4), "default");
        await WaitAsync(async () => (await PodsAsync("ranked")).Count(Ready) == 4, "4 ready pods");
        var names = (await PodsAsync("ranked")).Select(p => p.Metadata.Name).Order(StringComparer.Ordinal).ToList();
        await AnnotateCostAsync(names[0], 100);
        await AnnotateCostAsync(names[1], -5);
        await AnnotateCostAsync(names[2], 50);
        await AnnotateCostAsync(names[3], 10);

        await ScaleAsync("ranked", 3);
        await WaitAsync(async () => (await PodsAsync("ranked")).Count == 3, "3 pods");
        Assert.DoesNotContain(names[1], (await PodsAsync("ranked")).Select(p => p.Metadata.Name)); // cost -5 went first

        await ScaleAsync("ranked", 2);
        await WaitAsync(async () => (await PodsAsync("ranked")).Count == 2, "2 pods");
        Assert.Equal([names[0], names[2]], (await PodsAsync("ranked")).Select(p => p.Metadata.Name).Order(StringComparer.Ordinal));

        // A pod held not ready goes before any ready one, whatever its cost.
        await ScaleAsync("ranked", 3);
        await WaitAsync(async () => (await PodsAsync("ranked")).Count == 3, "3 pods again");
        var fresh = (await PodsAsync("ranked")).Select(p => p.Metadata.Name).Except([names[0], names[2]]).Single();
        lock (Server.Pods.HoldNotReady)
        {
            Server.Pods.HoldNotReady.Add(fresh);
        }

        // the fresh pod was probably made ready already; its readiness is taken away as a failing probe would
        await Client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch("""{"status":{"conditions":[{"type":"Ready","status":"False"}]}}""", V1Patch.PatchType.MergePatch), fresh, "default");
        await AnnotateCostAsync(fresh, 1_000_000);
        await ScaleAsync("ranked", 2);
        await WaitAsync(async () => (await PodsAsync("ranked")).Count == 2, "2 pods again");
        Assert.Equal([names[0], names[2]], (await PodsAsync("ranked")).Select(p => p.Metadata.Name).Order(StringComparer.Ordinal));
    }
}
