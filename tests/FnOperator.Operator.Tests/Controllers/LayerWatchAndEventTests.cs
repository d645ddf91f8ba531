using System.Text.Json;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>
/// The Function controller's watch of Layers (through the Functions-by-layer index) and the Events it records. The
/// dependency poll is set an hour away, so whatever recovers here was re-enqueued by a watch.
/// </summary>
public sealed class LayerWatchAndEventTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync(settings: ["--Operator:DependencyRetry", "01:00:00"]);

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Function_waiting_for_a_layer_version_deploys_as_soon_as_the_layer_publishes_it()
    {
        await harness.CreateAsync(TestFunctions.Node("uses-layer", change: s => s.Layers = [new LayerReference { Name = "shared" }]));
        await harness.WaitConditionAsync("uses-layer", "CodeReady", "False", FunctionReasons.LayerNotFound);
        await harness.WaitEventAsync("uses-layer", "Warning", FunctionReasons.LayerNotFound);

        await CreateLayerAsync("shared");
        await harness.WaitConditionAsync("uses-layer", "CodeReady", "False", FunctionReasons.LayerNotFound); // no version yet
        await PublishAsync("shared", version: 1, sha: new string('a', 64));

        await harness.WaitReadyAsync("uses-layer");
        var deployment = (await harness.DeploymentAsync("uses-layer"))!;
        Assert.Contains(new string('a', 64), KubernetesJson.Serialize(deployment.Spec.Template.Spec.InitContainers), StringComparison.Ordinal);

        // A newer version rolls the Function too.
        var hash = deployment.Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash];
        await PublishAsync("shared", version: 2, sha: new string('b', 64));
        await Eventually.True(async () => (await harness.DeploymentAsync("uses-layer"))!.Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash] != hash, "rolled to layer version 2");
    }

    [Fact]
    public async Task Deployment_creation_and_an_invalid_spec_are_recorded_as_events_on_the_function()
    {
        await harness.CreateAsync(TestFunctions.Node("described"));
        await harness.CreateAsync(TestFunctions.Node("invalid", change: s => s.Runtime = "cobol1.0"));

        await harness.WaitReadyAsync("described");
        await harness.WaitEventAsync("described", "Normal", FunctionReasons.CreatedDeployment);
        await harness.WaitEventAsync("invalid", "Warning", FunctionReasons.UnknownRuntime);
        var events = await harness.EventsAsync("described");
        Assert.Single(events, e => e.Reason == FunctionReasons.CreatedPullCredential);
        var created = Assert.Single(events, e => e.Reason == FunctionReasons.CreatedDeployment);
        Assert.Equal(("Function", (await harness.GetAsync("described"))!.Metadata.Uid), (created.InvolvedObject.Kind, created.InvolvedObject.Uid));
        Assert.Equal("Created Deployment described-latest", created.Message);
        Assert.Equal(1, Assert.Single(await harness.EventsAsync("invalid")).Count);
    }

    private Task<object> CreateLayerAsync(string name) =>
        harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new Layer
            {
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
                Spec = new LayerSpec { Content = new LayerContent { Url = "https://layers.example.com/shared.zip", Sha256 = new string('c', 64) } },
            },
            ApiGroup.Group, ApiGroup.Version, "default", Layer.Plural);

    private async Task PublishAsync(string name, int version, string sha)
    {
        var layer = KubernetesJson.Deserialize<Layer>((JsonElement)await harness.Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, "default", Layer.Plural, name));
        layer.Status ??= new LayerStatus();
        layer.Status.LatestVersion = version;
        layer.Status.Versions = [.. layer.Status.Versions ?? [], new LayerVersion { Version = version, CodeSha256 = sha, Url = $"https://layers.example.com/shared-{version}.zip", CreatedAt = DateTime.UtcNow }];
        await harness.Client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(layer, ApiGroup.Group, ApiGroup.Version, "default", Layer.Plural, name);
    }
}
