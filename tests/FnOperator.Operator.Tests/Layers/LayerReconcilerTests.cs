using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using FnOperator.Operator.Runtime;
using k8s.Models;

namespace FnOperator.Operator.Tests.Layers;

/// <summary>
/// The Layer reconciler and the Function's layer phase against the API test server, with layer archives served by a
/// loopback server. The dependency poll is an hour away, so what recovers here was re-enqueued by a watch.
/// </summary>
public sealed class LayerReconcilerTests : IAsyncLifetime
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

    private static string TemplateHash(V1Deployment d) => d.Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash];

    [Fact]
    public async Task Versions_are_published_from_content_and_roll_only_the_functions_that_follow_latest()
    {
        var v1 = zips.Serve("shared-1.zip", ZipServer.Zip(("nodejs/node_modules/greet/index.js", "module.exports = 1;")));
        await harness.CreateLayerAsync("shared", LayerObjects.Url(v1), ["nodejs22.x"]);
        var layer = await harness.WaitLayerAsync("shared", l => l.Status!.LatestVersion == 1, "version 1 on create");
        var version1 = Assert.Single(layer.Status!.Versions!);
        Assert.Equal((1, v1.Sha256, v1.Url), (version1.Version, version1.CodeSha256, version1.Url));
        Assert.Equal(["nodejs22.x"], version1.CompatibleRuntimes!);
        Assert.True(version1.Size > 0 && version1.UnzippedSize == "module.exports = 1;".Length);
        Assert.InRange(version1.CreatedAt, DateTime.UtcNow.AddMinutes(-10), DateTime.UtcNow.AddMinutes(1));
        Assert.Equal((ConditionStatus.True, LayerReasons.Published), (layer.Ready()!.Status, layer.Ready()!.Reason));
        await harness.WaitEventAsync("shared", "Normal", LayerReasons.PublishedVersion);

        await harness.CreateAsync(TestFunctions.Node("follows", change: s => s.Layers = [new LayerReference { Name = "shared" }]));
        await harness.CreateAsync(TestFunctions.Node("pinned", change: s => s.Layers = [new LayerReference { Name = "shared", Version = 1 }]));
        await harness.WaitReadyAsync("follows");
        await harness.WaitReadyAsync("pinned");
        var follows = TemplateHash((await harness.DeploymentAsync("follows"))!);
        var pinned = TemplateHash((await harness.DeploymentAsync("pinned"))!);

        // Same content (only the description changes): no new version, no download.
        await harness.UpdateLayerAsync("shared", s => s.Description = "greetings");
        layer = await harness.WaitLayerAsync("shared", l => l.Metadata.Generation == 2, "generation 2 observed");
        Assert.Equal([1], layer.Status!.Versions!.Select(v => v.Version));
        Assert.Equal(1, zips.Requests["shared-1.zip"]);

        // Changed content: version 2; the follower rolls, the pinned one does not.
        var v2 = zips.Serve("shared-2.zip", ZipServer.Zip(("nodejs/node_modules/greet/index.js", "module.exports = 2;")));
        await harness.UpdateLayerAsync("shared", s => s.Content = LayerObjects.Url(v2));
        layer = await harness.WaitLayerAsync("shared", l => l.Status!.LatestVersion == 2, "version 2");
        await Eventually.True(async () => TemplateHash((await harness.DeploymentAsync("follows"))!) != follows, "follower rolled to version 2");
        Assert.Contains(v2.Sha256, KubernetesJson.Serialize((await harness.DeploymentAsync("follows"))!.Spec.Template.Spec.InitContainers), StringComparison.Ordinal);
        Assert.Equal(pinned, TemplateHash((await harness.DeploymentAsync("pinned"))!));

        // Retention 1: version 1 is past it but "pinned" names it, so it stays; version 3 prunes version 2 (followed only as latest).
        Assert.Equal([1, 2], layer.Status!.Versions!.Select(v => v.Version).Order());
        var v3 = zips.Serve("shared-3.zip", ZipServer.Zip(("nodejs/node_modules/greet/index.js", "module.exports = 3;")));
        await harness.UpdateLayerAsync("shared", s => s.Content = LayerObjects.Url(v3));
        await harness.WaitLayerAsync("shared", l => l.Status!.LatestVersion == 3, "version 3");
        // Version 2 goes once the follower's Deployment no longer places it (a version under a rollout is kept).
        await Eventually.True(async () => TemplateHash((await harness.DeploymentAsync("follows"))!) != follows
            && KubernetesJson.Serialize((await harness.DeploymentAsync("follows"))!.Spec.Template.Spec.InitContainers).Contains(v3.Sha256, StringComparison.Ordinal), "follower on version 3");
        layer = await harness.WaitLayerAsync("shared", l => l.Status!.Versions!.Select(v => v.Version).Order().SequenceEqual([1, 3]), "version 2 pruned");
        await harness.WaitEventAsync("shared", "Normal", LayerReasons.PrunedVersion);
        Assert.Equal(pinned, TemplateHash((await harness.DeploymentAsync("pinned"))!));
    }

    [Fact]
    public async Task A_reconcile_from_a_cache_behind_the_layers_status_neither_downloads_nor_publishes_the_version_again()
    {
        var v1 = zips.Serve("lagged-1.zip", ZipServer.Zip(("nodejs/node_modules/greet/index.js", "module.exports = 1;")));
        await harness.CreateLayerAsync("lagged", LayerObjects.Url(v1), ["nodejs22.x"]);
        await harness.WaitLayerAsync("lagged", l => l.Status!.LatestVersion == 1, "version 1");
        await harness.CreateAsync(TestFunctions.Node("lag-user", change: s => s.Layers = [new LayerReference { Name = "lagged" }]));
        await harness.WaitReadyAsync("lag-user");

        // From here the operator sees every Layer change 3 s late, its own status writes included.
        harness.Server.Faults.SetWatchLag("fnoperator.io/layers", TimeSpan.FromSeconds(3));
        var v2 = zips.Serve("lagged-2.zip", ZipServer.Zip(("nodejs/node_modules/greet/index.js", "module.exports = 2;")));
        await harness.UpdateLayerAsync("lagged", s => s.Content = LayerObjects.Url(v2));
        await harness.WaitLayerAsync("lagged", l => l.Status!.LatestVersion == 2, "version 2 in the API");

        // Version 2 is in the API, its watch event 3 s away: a change of the user's Deployment enqueues the Layer now,
        // and that reconcile's cache shows the new content beside a status that has only version 1.
        await harness.UpdateAsync("lag-user", s => s.MemoryMiB = 256);
        await Eventually.True(async () => (await harness.DeploymentAsync("lag-user"))!.Metadata.Generation > 1, "the user's Deployment changed");
        await Eventually.True(async () => KubernetesJson.Serialize((await harness.DeploymentAsync("lag-user"))!.Spec.Template.Spec.InitContainers)
            .Contains(v2.Sha256, StringComparison.Ordinal), "the user on version 2");
        harness.Server.Faults.SetWatchLag("fnoperator.io/layers", null);

        var layer = await harness.WaitLayerAsync("lagged", l => l.Status!.LatestVersion == 2, "version 2");
        Assert.Single(layer.Status!.Versions!, v => v.Version == 2); // (version 1 may be pruned by now: retention 1)
        Assert.Equal(1, zips.Requests["lagged-2.zip"]);
        await harness.AssertPublishedTimesAsync("lagged", 2); // versions 1 and 2, once each
    }

    [Fact]
    public async Task Checksum_mismatch_publishes_nothing_and_leaves_the_function_on_its_version()
    {
        var good = zips.Serve("tools-1.zip", ZipServer.Zip(("bin/tool", "#!/bin/sh\necho 1\n")));
        await harness.CreateLayerAsync("tools", LayerObjects.Url(good));
        await harness.WaitLayerAsync("tools", l => l.Status!.LatestVersion == 1, "version 1");
        await harness.CreateAsync(TestFunctions.Node("uses-tools", change: s => s.Layers = [new LayerReference { Name = "tools" }]));
        await harness.WaitReadyAsync("uses-tools");
        var before = TemplateHash((await harness.DeploymentAsync("uses-tools"))!);

        var (url, _) = zips.Serve("tools-2.zip", ZipServer.Zip(("bin/tool", "#!/bin/sh\necho 2\n")));
        await harness.UpdateLayerAsync("tools", s => s.Content = new LayerContent { Url = url, Sha256 = new string('e', 64) });

        var layer = await harness.WaitLayerReasonAsync("tools", ConditionStatus.False, LayerReasons.ChecksumMismatch);
        Assert.Contains(new string('e', 64), layer.Ready()!.Message, StringComparison.Ordinal);
        Assert.Equal([1], layer.Status!.Versions!.Select(v => v.Version));
        await harness.WaitEventAsync("tools", "Warning", LayerReasons.ChecksumMismatch);
        Assert.Equal(before, TemplateHash((await harness.DeploymentAsync("uses-tools"))!));
    }

    [Fact]
    public async Task Missing_config_map_is_content_not_found_until_it_appears_then_each_edit_is_an_immutable_snapshot_version()
    {
        await harness.CreateLayerAsync("small", new LayerContent { ConfigMap = new ConfigMapCodeSource { Name = "small-files" } });
        var layer = await harness.WaitLayerReasonAsync("small", ConditionStatus.False, LayerReasons.ContentNotFound);
        Assert.Null(layer.Status!.LatestVersion);
        await harness.CreateAsync(TestFunctions.Node("uses-small", change: s => s.Layers = [new LayerReference { Name = "small" }]));
        await harness.WaitConditionAsync("uses-small", "CodeReady", ConditionStatus.False, FunctionReasons.LayerNotFound);
        Assert.Null(await harness.DeploymentAsync("uses-small"));

        await harness.Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "small-files" }, Data = new Dictionary<string, string> { ["greeting.txt"] = "hi" } }, "default");
        // ConfigMap content is polled (DependencyRetry); a spec touch re-reads it now.
        await harness.UpdateLayerAsync("small", s => s.Description = "now");
        layer = await harness.WaitLayerAsync("small", l => l.Status!.LatestVersion == 1, "version 1");
        var snapshotName = layer.Status!.Versions![0].ConfigMap!;
        var snapshot = await harness.Client.CoreV1.ReadNamespacedConfigMapAsync(snapshotName, "default");
        Assert.Equal((true, "hi", "Layer"), (snapshot.Immutable, snapshot.Data["greeting.txt"], snapshot.Metadata.OwnerReferences.Single().Kind));

        await harness.WaitReadyAsync("uses-small");
        var pod = (await harness.DeploymentAsync("uses-small"))!.Spec.Template.Spec;
        Assert.Contains(pod.Volumes, v => v.ConfigMap?.Name == snapshotName);

        // Editing the source publishes version 2 in a new snapshot; version 1 (pinned, so past retention 1 it is kept)
        // keeps its snapshot's data.
        await harness.CreateAsync(TestFunctions.Node("pinned-small", change: s => s.Layers = [new LayerReference { Name = "small", Version = 1 }]));
        await harness.WaitReadyAsync("pinned-small");
        await harness.Client.CoreV1.ReplaceNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "small-files" }, Data = new Dictionary<string, string> { ["greeting.txt"] = "hello" } }, "small-files", "default");
        await harness.UpdateLayerAsync("small", s => s.Description = "edited");
        layer = await harness.WaitLayerAsync("small", l => l.Status!.LatestVersion == 2, "version 2");
        var second = layer.Status!.Versions!.Single(v => v.Version == 2).ConfigMap!;
        Assert.NotEqual(snapshotName, second);
        Assert.Equal("hello", (await harness.Client.CoreV1.ReadNamespacedConfigMapAsync(second, "default")).Data["greeting.txt"]);
        Assert.Equal("hi", (await harness.Client.CoreV1.ReadNamespacedConfigMapAsync(snapshotName, "default")).Data["greeting.txt"]);
        await Eventually.True(async () => (await harness.DeploymentAsync("uses-small"))!.Spec.Template.Spec.Volumes.Any(v => v.ConfigMap?.Name == second), "rolled to version 2's snapshot");
    }

    [Fact]
    public async Task Incompatible_runtime_and_too_large_layers_each_give_their_condition_and_no_deployment_until_fixed()
    {
        var py = zips.Serve("py.zip", ZipServer.Zip(("python/mod.py", "X = 1\n")));
        await harness.CreateLayerAsync("py-only", LayerObjects.Url(py), ["python3.12"]);
        await harness.WaitLayerAsync("py-only", l => l.Status!.LatestVersion == 1, "version 1");
        await harness.CreateAsync(TestFunctions.Node("wrong-runtime", change: s => s.Layers = [new LayerReference { Name = "py-only" }]));
        await harness.WaitConditionAsync("wrong-runtime", "CodeReady", ConditionStatus.False, FunctionReasons.IncompatibleLayer);
        Assert.Contains("nodejs22.x", (await harness.GetAsync("wrong-runtime"))!.Status!.Condition("Ready")!.Message, StringComparison.Ordinal);
        Assert.Null(await harness.DeploymentAsync("wrong-runtime"));

        // Naming the runtime publishes version 2 (same files, new metadata), which the watch brings to the Function.
        await harness.UpdateLayerAsync("py-only", s => s.CompatibleRuntimes = ["python3.12", "nodejs22.x"]);
        await harness.WaitLayerAsync("py-only", l => l.Status!.LatestVersion == 2, "version 2 for the new runtimes");
        await harness.WaitReadyAsync("wrong-runtime");

        // More than 50 MB zipped: the download stops, no version.
        var big = new byte[LayerLimits.MaxZippedBytes + 1];
        Random.Shared.NextBytes(big);
        await harness.CreateLayerAsync("huge", LayerObjects.Url(zips.Serve("huge.zip", big)));
        var huge = await harness.WaitLayerReasonAsync("huge", ConditionStatus.False, LayerReasons.TooLarge);
        Assert.Contains("52428800", huge.Ready()!.Message, StringComparison.Ordinal);
        Assert.Null(huge.Status!.Versions is { Count: > 0 } ? huge.Status.Versions : null);

        // Two layers of 130 MB unzipped each: each is fine alone, together past 250 MB.
        var half = zips.Serve("half.zip", ZipServer.ZeroZip(130L * 1024 * 1024));
        await harness.CreateLayerAsync("half-a", LayerObjects.Url(half));
        await harness.CreateLayerAsync("half-b", LayerObjects.Url(half));
        await harness.WaitLayerAsync("half-a", l => l.Status!.LatestVersion == 1, "version 1");
        await harness.WaitLayerAsync("half-b", l => l.Status!.LatestVersion == 1, "version 1");
        await harness.CreateAsync(TestFunctions.Node("too-big", change: s => s.Layers = [new LayerReference { Name = "half-a" }, new LayerReference { Name = "half-b" }]));
        await harness.WaitConditionAsync("too-big", "CodeReady", ConditionStatus.False, FunctionReasons.LayersTooLarge);
        Assert.Contains("262144000", (await harness.GetAsync("too-big"))!.Status!.Condition("CodeReady")!.Message, StringComparison.Ordinal);
        Assert.Null(await harness.DeploymentAsync("too-big"));
    }

    [Fact]
    public async Task A_new_latest_version_incompatible_with_a_deployed_follower_gives_its_condition_and_no_rollout()
    {
        var served = zips.Serve("rt.zip", ZipServer.Zip(("nodejs/node_modules/rt/index.js", "module.exports = 1;")));
        await harness.CreateLayerAsync("rt", LayerObjects.Url(served), ["nodejs22.x"]);
        await harness.WaitLayerAsync("rt", l => l.Status!.LatestVersion == 1, "version 1");
        await harness.CreateAsync(TestFunctions.Node("rt-user", change: s => s.Layers = [new LayerReference { Name = "rt" }]));
        await harness.WaitReadyAsync("rt-user");
        var before = TemplateHash((await harness.DeploymentAsync("rt-user"))!);

        await harness.UpdateLayerAsync("rt", s => s.CompatibleRuntimes = ["python3.12"]);
        await harness.WaitLayerAsync("rt", l => l.Status!.LatestVersion == 2, "version 2 for python only");

        await harness.WaitConditionAsync("rt-user", "CodeReady", ConditionStatus.False, FunctionReasons.IncompatibleLayer);
        var message = (await harness.GetAsync("rt-user"))!.Status!.Condition("CodeReady")!.Message;
        Assert.Contains("nodejs22.x", message, StringComparison.Ordinal);
        Assert.Contains("python3.12", message, StringComparison.Ordinal);
        Assert.Equal(before, TemplateHash((await harness.DeploymentAsync("rt-user"))!));
        Assert.Equal([1, 2], (await harness.WaitLayerAsync("rt", _ => true, "rt"))!.Status!.Versions!.Select(v => v.Version).Order()); // version 1 is still placed
    }

    [Fact]
    public async Task More_than_five_layers_is_refused_and_the_running_deployment_is_not_changed()
    {
        var served = zips.Serve("five.zip", ZipServer.Zip(("lib/five.so", "5")));
        await harness.CreateLayerAsync("five", LayerObjects.Url(served));
        await harness.WaitLayerAsync("five", l => l.Status!.LatestVersion == 1, "version 1");
        await harness.CreateAsync(TestFunctions.Node("many", change: s => s.Layers = [new LayerReference { Name = "five" }]));
        await harness.WaitReadyAsync("many");
        var before = TemplateHash((await harness.DeploymentAsync("many"))!);

        // The CRD's maxItems refuses a sixth layer (the reconciler's TooManyLayers condition is the second line, for objects the schema let through:
        // LayerResolverTests.More_than_five_layers_is_refused_with_the_count_before_any_layer_is_looked_up).
        var refused = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() =>
            harness.UpdateAsync("many", s => s.Layers = [.. Enumerable.Range(0, 6).Select(_ => new LayerReference { Name = "five" })]));

        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, refused.Response.StatusCode);
        Assert.Contains("spec.layers", refused.Response.Content, StringComparison.Ordinal);
        Assert.Contains("5", refused.Response.Content, StringComparison.Ordinal);
        Assert.Equal(1, (await harness.GetAsync("many"))!.Metadata.Generation);
        Assert.Equal(before, TemplateHash((await harness.DeploymentAsync("many"))!));
    }

    [Fact]
    public async Task Deleting_a_layer_in_use_leaves_the_function_deployed_with_a_clear_condition()
    {
        var served = zips.Serve("gone.zip", ZipServer.Zip(("lib/libx.so", "x")));
        await harness.CreateLayerAsync("gone", LayerObjects.Url(served));
        await harness.WaitLayerAsync("gone", l => l.Status!.LatestVersion == 1, "version 1");
        await harness.CreateAsync(TestFunctions.Node("orphan", change: s => s.Layers = [new LayerReference { Name = "gone" }]));
        await harness.WaitReadyAsync("orphan");
        var before = TemplateHash((await harness.DeploymentAsync("orphan"))!);

        await harness.DeleteLayerAsync("gone");

        await harness.WaitConditionAsync("orphan", "CodeReady", ConditionStatus.False, FunctionReasons.LayerNotFound);
        Assert.Equal("Layer default/gone does not exist.", (await harness.GetAsync("orphan"))!.Status!.Condition("CodeReady")!.Message);
        Assert.Equal(before, TemplateHash((await harness.DeploymentAsync("orphan"))!));

        // A Layer of that name appearing again (other content) is brought to the Function by the watch, which rolls.
        var again = zips.Serve("again.zip", ZipServer.Zip(("lib/libx.so", "y")));
        await harness.CreateLayerAsync("gone", LayerObjects.Url(again));
        await harness.WaitLayerAsync("gone", l => l.Status!.LatestVersion == 1, "version 1 of the new Layer");
        await harness.WaitConditionAsync("orphan", "CodeReady", ConditionStatus.True, FunctionReasons.CodeResolved);
        await Eventually.True(async () => KubernetesJson.Serialize((await harness.DeploymentAsync("orphan"))!.Spec.Template.Spec.InitContainers).Contains(again.Sha256, StringComparison.Ordinal),
            "rolled to the new Layer's content");
    }

    [Fact]
    public async Task Image_content_is_a_version_per_reference_and_its_pods_copy_the_images_opt()
    {
        await harness.CreateLayerAsync("rust-runtime", new LayerContent { Image = "registry.example/rust-runtime:1" }, ["provided.al2023"]);
        var layer = await harness.WaitLayerAsync("rust-runtime", l => l.Status!.LatestVersion == 1, "version 1");
        var version1 = Assert.Single(layer.Status!.Versions!);
        Assert.Equal(("registry.example/rust-runtime:1", 0L, 0L), (version1.Image, version1.Size, version1.UnzippedSize));
        Assert.Matches("^[0-9a-f]{64}$", version1.CodeSha256);
        await harness.CreateAsync(TestFunctions.Node("rusty", change: s =>
        {
            s.Runtime = "provided.al2023";
            s.Handler = "bootstrap";
            s.Layers = [new LayerReference { Name = "rust-runtime" }];
        }));
        await harness.WaitReadyAsync("rusty");
        Assert.Contains((await harness.DeploymentAsync("rusty"))!.Spec.Template.Spec.InitContainers, c => c.Image == "registry.example/rust-runtime:1");

        await harness.UpdateLayerAsync("rust-runtime", s => s.Content = new LayerContent { Image = "registry.example/rust-runtime:2" });
        layer = await harness.WaitLayerAsync("rust-runtime", l => l.Status!.LatestVersion == 2, "version 2 for a new reference");
        Assert.NotEqual(version1.CodeSha256, layer.Status!.Versions!.Single(v => v.Version == 2).CodeSha256);
        await Eventually.True(async () => (await harness.DeploymentAsync("rusty"))!.Spec.Template.Spec.InitContainers.Any(c => c.Image == "registry.example/rust-runtime:2"),
            "the follower rolled to version 2's image");
    }

    [Fact]
    public async Task Path_content_is_refused_in_a_cluster()
    {
        await harness.CreateLayerAsync("local", new LayerContent { Path = "./layer" });
        var layer = await harness.WaitLayerReasonAsync("local", ConditionStatus.False, LayerReasons.LocalModeOnly);
        Assert.Null(layer.Status!.LatestVersion);
    }
}
