using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

public sealed class GenerationAndSubresourceTests : ServerTest
{
    public static TheoryData<string, string, long> Writes => new()
    {
        // change to the stored widget {"size":256}, where it is written, expected generation afterwards
        { """{"spec": {"size": 512}}""", "main", 2 },
        { """{"metadata": {"labels": {"a": "b"}}}""", "main", 1 },
        { """{"metadata": {"annotations": {"a": "b"}}}""", "main", 1 },
        { """{"status": {"replicas": 3}}""", "main", 1 },
        { """{"status": {"replicas": 3}}""", "status", 1 },
        { """{"spec": {"size": 512}}""", "status", 1 },
    };

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task Generation_counts_spec_changes_only(string change, string where, long expected)
    {
        var widget = await CreateWidgetAsync("w");
        Assert.Equal(1, (long?)widget["metadata"]!["generation"]);
        var patch = new V1Patch(change, V1Patch.PatchType.MergePatch);

        var updated = ToJson(where == "status"
            ? await Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(patch, Group, Version, "default", Widgets, "w")
            : await Client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, Group, Version, "default", Widgets, "w"));

        Assert.Equal(expected, (long?)updated["metadata"]!["generation"]);
        Assert.Equal(expected, (long?)(await GetWidgetAsync("w"))["metadata"]!["generation"]);
    }

    [Fact]
    public async Task Main_resource_writes_ignore_status_and_status_writes_ignore_everything_else()
    {
        await CreateWidgetAsync("w");

        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec": {"size": 300}, "status": {"replicas": 9}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w");
        var afterMain = await GetWidgetAsync("w");
        await Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch("""{"spec": {"size": 999}, "metadata": {"labels": {"x": "y"}}, "status": {"replicas": 2}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w");
        var afterStatus = await GetWidgetAsync("w");

        Assert.Equal(300, (int?)afterMain["spec"]!["size"]);
        Assert.Null(afterMain["status"]);
        Assert.Equal(300, (int?)afterStatus["spec"]!["size"]);
        Assert.Null(afterStatus["metadata"]!["labels"]);
        Assert.Equal(2, (int?)afterStatus["status"]!["replicas"]);
    }

    [Fact]
    public async Task No_op_updates_keep_the_resource_version()
    {
        var widget = await CreateWidgetAsync("w");

        var same = ToJson(await Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(widget, Group, Version, "default", Widgets, "w"));

        Assert.Equal(Rv(widget), Rv(same));
    }

    [Fact]
    public async Task Deployments_are_rolled_out_by_the_simulator_with_conditions()
    {
        await Client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("d", 2), "default");

        await EventuallyAsync(async () => (await Client.AppsV1.ReadNamespacedDeploymentAsync("d", "default")).Status?.ReadyReplicas == 2, "rollout");
        var d = await Client.AppsV1.ReadNamespacedDeploymentAsync("d", "default");

        Assert.Equal(d.Metadata.Generation, d.Status.ObservedGeneration);
        Assert.Equal((2, 2, 2), (d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas));
        Assert.Contains(d.Status.Conditions, c => c.Type == "Available" && c.Status == "True" && c.Reason == "MinimumReplicasAvailable");
        Assert.Contains(d.Status.Conditions, c => c.Type == "Progressing" && c.Status == "True" && c.Reason == "NewReplicaSetAvailable");
    }

    [Fact]
    public async Task Switched_off_simulator_leaves_deployments_unready_until_switched_on()
    {
        Server.SimulateDeployments = false;
        await Client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("d", 1), "default");
        await Task.Delay(300);
        Assert.Null((await Client.AppsV1.ReadNamespacedDeploymentAsync("d", "default")).Status?.ReadyReplicas);

        Server.SimulateDeployments = true;

        await EventuallyAsync(async () => (await Client.AppsV1.ReadNamespacedDeploymentAsync("d", "default")).Status?.ReadyReplicas == 1, "rollout after switching on");
    }

    [Fact]
    public async Task Deployment_scale_subresource_reads_and_writes_spec_replicas()
    {
        await Client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("d", 1), "default");
        var scale = await Client.AppsV1.ReadNamespacedDeploymentScaleAsync("d", "default");
        Assert.Equal(("Scale", 1, "app=d"), (scale.Kind, scale.Spec.Replicas, scale.Status.Selector));

        scale.Spec.Replicas = 4;
        await Client.AppsV1.ReplaceNamespacedDeploymentScaleAsync(scale, "d", "default");
        await EventuallyAsync(async () => (await Client.AppsV1.ReadNamespacedDeploymentAsync("d", "default")).Status?.ReadyReplicas == 4, "scaled to 4");
        await Client.AppsV1.PatchNamespacedDeploymentScaleAsync(new V1Patch("""{"spec": {"replicas": 0}}""", V1Patch.PatchType.MergePatch), "d", "default");
        await EventuallyAsync(async () => (await Client.AppsV1.ReadNamespacedDeploymentAsync("d", "default")).Status is { ObservedGeneration: 3, ReadyReplicas: null }, "scaled to 0");

        var stale = await StatusOfAsync(() => Client.AppsV1.ReplaceNamespacedDeploymentScaleAsync(scale, "d", "default"));
        Assert.Equal(409, (int?)stale["code"]);
        Assert.Equal(0, (await Client.AppsV1.ReadNamespacedDeploymentAsync("d", "default")).Spec.Replicas);
    }

    [Fact]
    public async Task A_json_patch_test_of_the_scale_count_refuses_the_scale_with_422_once_the_count_changed()
    {
        await Client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("d", 1), "default");
        static V1Patch Patch(int from, int to) =>
            new($$"""[{"op": "test", "path": "/spec/replicas", "value": {{from}}}, {"op": "replace", "path": "/spec/replicas", "value": {{to}}}]""", V1Patch.PatchType.JsonPatch);

        // The Deployment simulator's status writes move the resourceVersion meanwhile; the test looks at the count only.
        Assert.Equal(4, (await Client.AppsV1.PatchNamespacedDeploymentScaleAsync(Patch(1, 4), "d", "default")).Spec.Replicas);
        await EventuallyAsync(async () => (await Client.AppsV1.ReadNamespacedDeploymentAsync("d", "default")).Status?.ReadyReplicas == 4, "scaled to 4");

        var stale = await StatusOfAsync(() => Client.AppsV1.PatchNamespacedDeploymentScaleAsync(Patch(1, 2), "d", "default"));
        Assert.Equal(422, (int?)stale["code"]);
        Assert.Equal(4, (await Client.AppsV1.ReadNamespacedDeploymentAsync("d", "default")).Spec.Replicas);
        Assert.Equal(2, (await Client.AppsV1.PatchNamespacedDeploymentScaleAsync(Patch(4, 2), "d", "default")).Spec.Replicas);
    }

    [Fact]
    public async Task Deployment_replicas_default_to_one_and_status_on_create_is_ignored()
    {
        var deployment = Deployment("d", 1);
        deployment.Spec.Replicas = null;
        deployment.Status = new V1DeploymentStatus { ReadyReplicas = 7 };
        Server.SimulateDeployments = false;

        var created = await Client.AppsV1.CreateNamespacedDeploymentAsync(deployment, "default");

        Assert.Equal(1, created.Spec.Replicas);
        Assert.Null(created.Status);
        Assert.Equal(1, (await Client.AppsV1.ReadNamespacedDeploymentScaleAsync("d", "default")).Spec.Replicas);
    }

    [Fact]
    public async Task Custom_resource_scale_subresource_uses_the_crd_paths()
    {
        await CreateWidgetAsync("w", """{"replicas": 2}""");
        await Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch("""{"status": {"replicas": 2, "selector": "app=w"}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w");

        var scale = ToJson(await Client.CustomObjects.GetNamespacedCustomObjectScaleAsync(Group, Version, "default", Widgets, "w"));
        await Client.CustomObjects.PatchNamespacedCustomObjectScaleAsync(new V1Patch("""{"spec": {"replicas": 5}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w");
        var widget = await GetWidgetAsync("w");

        Assert.Equal((2, 2, "app=w"), ((int?)scale["spec"]!["replicas"], (int?)scale["status"]!["replicas"], (string?)scale["status"]!["selector"]));
        Assert.Equal(5, (int?)widget["spec"]!["replicas"]);
        Assert.Equal(2, (long?)widget["metadata"]!["generation"]);
    }

    [Fact]
    public async Task Resources_without_a_subresource_answer_404_for_it()
    {
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, "default");

        var (code, _) = await SendAsync(HttpMethod.Get, "/api/v1/namespaces/default/configmaps/c/status");

        Assert.Equal(System.Net.HttpStatusCode.NotFound, code);
    }

    internal static V1Deployment Deployment(string name, int replicas) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["app"] = name } },
        Spec = new V1DeploymentSpec
        {
            Replicas = replicas,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name } },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = "main", Image = "busybox" }] },
            },
        },
    };
}
