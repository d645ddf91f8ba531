using System.Text.Json.Nodes;
using k8s;

namespace FnOperator.KubeApiServer.Tests.Server;

public sealed class CompatibilityTests
{
    [Fact]
    public async Task Stand_in_server_serves_resources_no_crd_declares_with_status_and_generation()
    {
        await using var server = await StandInApiServer.StartAsync();
        using var client = server.CreateClient();
        var function = new JsonObject
        {
            ["apiVersion"] = "fnoperator.io/v1alpha1",
            ["kind"] = "EventSourceMapping",
            ["metadata"] = new JsonObject { ["name"] = "f" },
            ["spec"] = new JsonObject { ["x"] = 1 },
            ["status"] = new JsonObject { ["ignored"] = true },
        };

        await client.CustomObjects.CreateNamespacedCustomObjectAsync(function, "fnoperator.io", "v1alpha1", "default", "eventsourcemappings");
        await client.CustomObjects.PatchNamespacedCustomObjectAsync(new k8s.Models.V1Patch("""{"spec": {"x": 2}}""", k8s.Models.V1Patch.PatchType.MergePatch), "fnoperator.io", "v1alpha1", "default", "eventsourcemappings", "f");
        var stored = JsonNode.Parse(((System.Text.Json.JsonElement)await client.CustomObjects.GetNamespacedCustomObjectAsync("fnoperator.io", "v1alpha1", "default", "eventsourcemappings", "f")).GetRawText())!;

        Assert.Equal("EventSourceMapping", (string?)stored["kind"]);
        Assert.Equal(2, (long?)stored["metadata"]!["generation"]);
        Assert.Null(stored["status"]);
    }

    [Fact]
    public async Task Test_server_answers_404_for_resources_no_crd_declares()
    {
        await using var server = await KubeApiTestServer.StartAsync();
        using var client = server.CreateClient();

        var error = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => client.CustomObjects.ListNamespacedCustomObjectAsync("fnoperator.io", "v1alpha1", "default", "functions"));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, error.Response.StatusCode);
    }
}
