using FnOperator.Api;
using FnOperator.Operator.Tests.Controllers;
using FnOperator.Operator.Tests.Versions;
using k8s;

namespace FnOperator.Operator.Tests.Layers;

/// <summary>Layer version pruning and published Function versions (ControllerRevision snapshots), against the API test server.</summary>
public sealed class LayerPruningTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;
    private ZipServer zips = null!;

    public async Task InitializeAsync()
    {
        zips = await ZipServer.StartAsync();
        harness = await OperatorHarness.StartAsync(settings: ["--Operator:DependencyRetry", "01:00:00", "--Operator:LayerVersionRetention", "1"]);
    }

    public async Task DisposeAsync()
    {
        await harness.DisposeAsync();
        await zips.DisposeAsync();
    }

    private (string Url, string Sha256) Serve(int n) =>
        zips.Serve($"lib-{n}.zip", ZipServer.Zip(("nodejs/node_modules/lib/index.js", $"module.exports = {n};")));

    private async Task<string> InitContainersAsync(string function) =>
        KubernetesJson.Serialize((await harness.DeploymentAsync(function))!.Spec.Template.Spec.InitContainers);

    [Fact]
    public async Task A_layer_version_a_published_function_version_holds_is_not_pruned_until_that_version_is_gone()
    {
        var v1 = Serve(1);
        await harness.CreateLayerAsync("lib", LayerObjects.Url(v1));
        await harness.WaitLayerAsync("lib", l => l.Status!.LatestVersion == 1, "version 1");

        // Published version 1 of the function is frozen with lib version 1; then publishing stops, $LATEST keeps following lib.
        await harness.CreateAsync(TestFunctions.Node("frozen", change: s =>
        {
            s.Layers = [new LayerReference { Name = "lib" }];
            s.Versioning = new VersioningSpec { AutoPublish = true };
        }));
        await Eventually.True(async () => (await harness.RevisionsAsync("frozen")).Count == 1, "function version 1 published");
        await harness.UpdateAsync("frozen", s => s.Versioning = new VersioningSpec { AutoPublish = false });
        await harness.WaitReadyAsync("frozen", generation: 2);

        var v2 = Serve(2);
        await harness.UpdateLayerAsync("lib", s => s.Content = LayerObjects.Url(v2));
        await harness.WaitLayerAsync("lib", l => l.Status!.LatestVersion == 2, "version 2");
        await Eventually.True(async () => (await InitContainersAsync("frozen")).Contains(v2.Sha256, StringComparison.Ordinal), "$LATEST on lib 2");
        var v3 = Serve(3);
        await harness.UpdateLayerAsync("lib", s => s.Content = LayerObjects.Url(v3));
        await Eventually.True(async () => (await InitContainersAsync("frozen")).Contains(v3.Sha256, StringComparison.Ordinal), "$LATEST on lib 3");

        // Retention 1 keeps 3; 2 (used by nothing any more) is pruned; 1 stays: function version 1's snapshot holds it,
        // although no Function names it and no Deployment places it now.
        var layer = await harness.WaitLayerAsync("lib", l => l.Status!.Versions!.Select(v => v.Version).Order().SequenceEqual([1, 3]), "version 2 pruned, 1 kept");
        Assert.Equal(v1.Sha256, layer.Status!.Versions!.Single(v => v.Version == 1).CodeSha256);
        Assert.Single(await harness.RevisionsAsync("frozen"));
        Assert.Equal(1, (await harness.GetLayerAsync("lib"))!.Status!.Versions!.Min(v => v.Version));

        // The published version goes (pruned, or its Function deleted): the revision's watch brings the Layer back, which prunes 1.
        var revision = Assert.Single(await harness.RevisionsAsync("frozen"));
        await harness.Client.AppsV1.DeleteNamespacedControllerRevisionAsync(revision.Metadata.Name, "default");
        await harness.WaitLayerAsync("lib", l => l.Status!.Versions!.Select(v => v.Version).SequenceEqual([3]), "version 1 pruned once no published version holds it");
    }
}
