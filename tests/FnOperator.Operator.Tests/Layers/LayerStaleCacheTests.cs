using FnOperator.Api;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Layers;

/// <summary>
/// A Layer whose configMap content is edited while the operator's Layer watch runs 3 s late (its own status writes
/// included), with the harness's 1 s content poll: the polls in between reconcile from a cached status that does not
/// show the version just published, with the generation unchanged.
/// </summary>
public sealed class LayerStaleCacheTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task A_config_map_edit_published_while_the_cache_lags_is_published_once_and_its_snapshot_is_not_replaced()
    {
        await harness.Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "lag-files" }, Data = new Dictionary<string, string> { ["greeting.txt"] = "hi" } }, "default");
        await harness.CreateLayerAsync("lag-small", new LayerContent { ConfigMap = new ConfigMapCodeSource { Name = "lag-files" } });
        await harness.WaitLayerAsync("lag-small", l => l.Status!.LatestVersion == 1, "version 1");

        harness.Server.Faults.SetWatchLag("fnoperator.io/layers", TimeSpan.FromSeconds(3));
        await harness.Client.CoreV1.ReplaceNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "lag-files" }, Data = new Dictionary<string, string> { ["greeting.txt"] = "hello" } }, "lag-files", "default");
        await harness.WaitLayerAsync("lag-small", l => l.Status!.LatestVersion == 2, "version 2 in the API");
        var snapshot = await harness.Client.CoreV1.ReadNamespacedConfigMapAsync(LayerSnapshots.SnapshotName("lag-small", 2), "default");

        // The next polls (one a second) see the edited ConfigMap beside a cached status whose latest is still 1.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        harness.Server.Faults.SetWatchLag("fnoperator.io/layers", null);

        var layer = await harness.WaitLayerAsync("lag-small", l => l.Status!.LatestVersion == 2, "version 2");
        var version2 = Assert.Single(layer.Status!.Versions!, v => v.Version == 2);
        Assert.Equal(snapshot.Metadata.Name, version2.ConfigMap);
        var now = await harness.Client.CoreV1.ReadNamespacedConfigMapAsync(snapshot.Metadata.Name, "default");
        Assert.Equal((snapshot.Metadata.Uid, "hello"), (now.Metadata.Uid, now.Data["greeting.txt"]));
        await harness.AssertPublishedTimesAsync("lag-small", 2); // versions 1 and 2, once each
    }
}
