using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

public sealed class PatchTests : ServerTest
{
    [Fact]
    public async Task Merge_patch_sets_and_removes_fields()
    {
        await CreateWidgetAsync("w", """{"name": "abc", "labels": {"a": "1"}}""");

        var patched = ToJson(await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec": {"name": null, "labels": {"b": "2"}}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w"));

        Assert.False(patched["spec"]!.AsObject().ContainsKey("name"));
        Assert.Equal("""{"a":"1","b":"2"}""", patched["spec"]!["labels"]!.ToJsonString());
    }

    [Fact]
    public async Task Json_patch_applies_operations_and_a_failed_test_is_422()
    {
        await CreateWidgetAsync("w", """{"tags": ["t-a"]}""");
        var ops = """[{"op": "test", "path": "/spec/size", "value": 256}, {"op": "add", "path": "/spec/tags/-", "value": "t-b"}, {"op": "replace", "path": "/spec/size", "value": 512}, {"op": "copy", "from": "/spec/size", "path": "/spec/maxReplicas"}, {"op": "remove", "path": "/spec/tags/0"}]""";

        var patched = ToJson(await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(ops, V1Patch.PatchType.JsonPatch), Group, Version, "default", Widgets, "w"));
        var failed = await StatusOfAsync(() => Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""[{"op": "test", "path": "/spec/size", "value": 1}]""", V1Patch.PatchType.JsonPatch), Group, Version, "default", Widgets, "w"));

        Assert.Equal("""["t-b"]""", patched["spec"]!["tags"]!.ToJsonString());
        Assert.Equal((512, 512), ((int?)patched["spec"]!["size"], (int?)patched["spec"]!["maxReplicas"]));
        Assert.Equal(422, (int?)failed["code"]);
    }

    [Fact]
    public async Task Strategic_merge_patch_merges_containers_by_name_on_built_in_kinds()
    {
        var deployment = GenerationAndSubresourceTests.Deployment("d", 1);
        deployment.Spec.Template.Spec.Containers.Add(new V1Container { Name = "sidecar", Image = "shim:1" });
        await Client.AppsV1.CreateNamespacedDeploymentAsync(deployment, "default");

        var patch = """{"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "shim:2"}, {"name": "main", "$patch": "delete"}]}}}}""";
        var patched = await Client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(patch, V1Patch.PatchType.StrategicMergePatch), "d", "default");

        Assert.Equal(["sidecar=shim:2"], patched.Spec.Template.Spec.Containers.Select(c => $"{c.Name}={c.Image}"));
        Assert.Equal(2, patched.Metadata.Generation);
    }

    [Fact]
    public async Task Strategic_merge_patch_on_custom_resources_is_unsupported_media_type()
    {
        await CreateWidgetAsync("w");

        var (code, body) = await SendAsync(HttpMethod.Patch, "/apis/test.fnoperator.io/v1/namespaces/default/widgets/w", JsonNode.Parse("""{"spec": {"size": 300}}"""), "application/strategic-merge-patch+json");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, code);
        Assert.Equal("UnsupportedMediaType", (string?)body!["reason"]);
    }

    [Fact]
    public async Task A_patch_carrying_a_stale_resource_version_conflicts()
    {
        var widget = await CreateWidgetAsync("w");
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec": {"size": 300}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w");

        var status = await StatusOfAsync(() => Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch($$$"""{"metadata": {"resourceVersion": "{{{Rv(widget)}}}"}, "spec": {"size": 400}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w"));

        Assert.Equal(("Conflict", 409), ((string?)status["reason"], (int?)status["code"]));
    }

    [Fact]
    public async Task Apply_patch_creates_a_missing_object_and_merges_into_an_existing_one()
    {
        var body = Fixtures.Widget("w", """{"size": 300}""");

        var (created, _) = await SendAsync(HttpMethod.Patch, "/apis/test.fnoperator.io/v1/namespaces/default/widgets/w?fieldManager=test", body, "application/apply-patch+yaml");
        var (updated, result) = await SendAsync(HttpMethod.Patch, "/apis/test.fnoperator.io/v1/namespaces/default/widgets/w?fieldManager=test", Fixtures.Widget("w", """{"size": 400}"""), "application/apply-patch+yaml");

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.OK), (created, updated));
        Assert.Equal(400, (int?)result!["spec"]!["size"]);
    }
}
