using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

public sealed class BuiltInValidationTests : ServerTest
{
    [Theory]
    [InlineData("""{"spec": {"replicas": -1}}""", "Deployment.apps \"d\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0")]
    [InlineData("""{"spec": {"selector": null}}""", "Deployment.apps \"d\" is invalid: spec.selector: Required value")]
    [InlineData("""{"spec": {"selector": {"matchLabels": {"app": "other"}}}}""", "Deployment.apps \"d\" is invalid: spec.template.metadata.labels: Invalid value: {\"app\":\"d\"}: `selector` does not match template `labels`")]
    public async Task Invalid_deployments_are_rejected_on_create(string change, string message)
    {
        var deployment = JsonNode.Parse(KubernetesJson.Serialize(GenerationAndSubresourceTests.Deployment("d", 1)))!;
        var body = KubeApiServer.MergePatch.Apply(deployment, JsonNode.Parse(change))!;

        var (code, status) = await SendAsync(HttpMethod.Post, "/apis/apps/v1/namespaces/default/deployments", body);

        Assert.Equal(422, (int)code);
        Assert.Equal(message, (string?)status!["message"]);
    }

    [Fact]
    public async Task A_deployment_selector_is_immutable()
    {
        await Client.AppsV1.CreateNamespacedDeploymentAsync(GenerationAndSubresourceTests.Deployment("d", 1), "default");
        var patch = """{"spec": {"selector": {"matchLabels": {"app": "d", "v": "2"}}, "template": {"metadata": {"labels": {"app": "d", "v": "2"}}}}}""";

        var status = await StatusOfAsync(() => Client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), "d", "default"));

        Assert.Equal(422, (int?)status["code"]);
        Assert.Contains("spec.selector: Invalid value: ", (string?)status["message"], StringComparison.Ordinal);
        Assert.EndsWith("field is immutable", (string?)status["message"], StringComparison.Ordinal);
    }
}
