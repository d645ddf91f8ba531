using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

public sealed class DeletionTests : ServerTest
{
    [Fact]
    public async Task Finalizers_hold_the_object_with_a_deletion_timestamp_until_the_last_is_removed()
    {
        var widget = Fixtures.Widget("w");
        widget["metadata"]!["finalizers"] = new JsonArray("a.test/one", "a.test/two");
        await Client.CustomObjects.CreateNamespacedCustomObjectAsync(widget, Group, Version, "default", Widgets);

        var deleting = ToJson(await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, Version, "default", Widgets, "w"));
        Assert.NotNull(deleting["metadata"]!["deletionTimestamp"]);
        Assert.Equal(0, (int?)deleting["metadata"]!["deletionGracePeriodSeconds"]);
        Assert.Equal(2, (long?)deleting["metadata"]!["generation"]);

        var added = await StatusOfAsync(() => Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"metadata": {"finalizers": ["a.test/one", "a.test/two", "a.test/three"]}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w"));
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"metadata": {"finalizers": ["a.test/two"]}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w");
        Assert.NotNull(await GetWidgetAsync("w"));
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"metadata": {"finalizers": null}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w");

        Assert.Equal(422, (int?)added["code"]);
        Assert.Contains("no new finalizers can be added if the object is being deleted", (string?)added["message"], StringComparison.Ordinal);
        Assert.Equal(404, (int?)(await StatusOfAsync(() => GetWidgetAsync("w")))["code"]);
    }

    [Fact]
    public async Task Background_deletion_cascades_to_dependents_through_owner_references()
    {
        var owner = await CreateWidgetAsync("owner");
        await Client.AppsV1.CreateNamespacedDeploymentAsync(Owned(GenerationAndSubresourceTests.Deployment("child", 1), owner), "default");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(Owned(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "child-config" } }, owner), "default");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "unrelated" } }, "default");

        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, Version, "default", Widgets, "owner");

        await EventuallyAsync(async () => (await Client.AppsV1.ListNamespacedDeploymentAsync("default")).Items.Count == 0, "the owned Deployment deleted");
        await EventuallyAsync(async () => (await Client.CoreV1.ListNamespacedConfigMapAsync("default")).Items.Select(c => c.Metadata.Name).SequenceEqual(["unrelated"]), "the owned ConfigMap deleted");
    }

    [Fact]
    public async Task A_dependent_created_for_an_owner_that_is_gone_is_collected()
    {
        var ghost = new JsonObject { ["metadata"] = new JsonObject { ["name"] = "ghost", ["uid"] = Guid.NewGuid().ToString() } };

        await Client.CoreV1.CreateNamespacedConfigMapAsync(Owned(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "stray" } }, ghost), "default");

        await EventuallyAsync(async () => (await Client.CoreV1.ListNamespacedConfigMapAsync("default")).Items.Count == 0, "the stray dependent collected");
    }

    [Fact]
    public async Task Orphan_deletion_leaves_dependents_without_the_owner_reference()
    {
        var owner = await CreateWidgetAsync("owner");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(Owned(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "child" } }, owner), "default");

        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, Version, "default", Widgets, "owner", propagationPolicy: "Orphan");
        await Task.Delay(300);

        var child = await Client.CoreV1.ReadNamespacedConfigMapAsync("child", "default");
        Assert.Null(child.Metadata.OwnerReferences);
    }

    [Fact]
    public async Task Foreground_deletion_deletes_dependents_first_then_the_owner()
    {
        var owner = await CreateWidgetAsync("owner");
        var child = Owned(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "child", Finalizers = ["test/hold"] } }, owner);
        await Client.CoreV1.CreateNamespacedConfigMapAsync(child, "default");

        var deleting = ToJson(await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, Version, "default", Widgets, "owner", body: new V1DeleteOptions { PropagationPolicy = "Foreground" }));
        Assert.Contains("foregroundDeletion", deleting["metadata"]!["finalizers"]!.AsArray().Select(f => (string?)f));
        await EventuallyAsync(async () => (await Client.CoreV1.ReadNamespacedConfigMapAsync("child", "default")).Metadata.DeletionTimestamp is not null, "the dependent being deleted");
        Assert.NotNull(await GetWidgetAsync("owner")); // held while the dependent exists

        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata": {"finalizers": null}}""", V1Patch.PatchType.MergePatch), "child", "default");

        await EventuallyAsync(async () => (await Client.CustomObjects.ListNamespacedCustomObjectAsync(Group, Version, "default", Widgets)) is var list && ToJson(list)["items"]!.AsArray().Count == 0, "the owner deleted");
    }

    [Fact]
    public async Task Delete_preconditions_and_status_response()
    {
        var map = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, "default");

        var wrongUid = await StatusOfAsync(() => Client.CoreV1.DeleteNamespacedConfigMapAsync("c", "default", new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = "nope" } }));
        var (code, body) = await SendAsync(HttpMethod.Delete, "/api/v1/namespaces/default/configmaps/c", new JsonObject { ["preconditions"] = new JsonObject { ["uid"] = map.Metadata.Uid } });

        Assert.Equal(("Conflict", 409), ((string?)wrongUid["reason"], (int?)wrongUid["code"]));
        Assert.Equal(System.Net.HttpStatusCode.OK, code);
        Assert.Equal(("Status", "Success", "c"), ((string?)body!["kind"], (string?)body["status"], (string?)body["details"]!["name"]));
    }

    [Fact]
    public async Task Deleting_a_namespace_terminates_it_and_removes_its_contents()
    {
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, "doomed");
        await CreateWidgetAsync("w", ns: "doomed");

        await Client.CoreV1.DeleteNamespaceAsync("doomed");

        await EventuallyAsync(async () => (await Client.CoreV1.ListNamespaceAsync()).Items.All(n => n.Metadata.Name != "doomed"), "the namespace removed");
        Assert.Empty((await Client.CoreV1.ListNamespacedConfigMapAsync("doomed")).Items);
        Assert.Empty(ToJson(await Client.CustomObjects.ListNamespacedCustomObjectAsync(Group, Version, "doomed", Widgets))["items"]!.AsArray());
    }

    private static T Owned<T>(T obj, JsonObject owner)
        where T : IMetadata<V1ObjectMeta>
    {
        obj.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "test.fnoperator.io/v1", Kind = "Widget", Name = (string)owner["metadata"]!["name"]!, Uid = (string)owner["metadata"]!["uid"]!, BlockOwnerDeletion = true, Controller = true }];
        return obj;
    }
}
