using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Layers;

/// <summary>
/// examples/layer and examples/custom-runtime-layer as their READMEs say to run them in a cluster: the manifests as
/// committed, with each local-mode <c>path</c> replaced by <c>url</c> + <c>sha256</c> of a zip of that folder, applied
/// to the API test server: the Layer publishes version 1 and the Function's pod places it into /opt.
/// </summary>
public sealed class LayerExampleManifestTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;
    private ZipServer zips = null!;

    public async Task InitializeAsync()
    {
        zips = await ZipServer.StartAsync();
        harness = await OperatorHarness.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await harness.DisposeAsync();
        await zips.DisposeAsync();
    }

    [Theory]
    [InlineData("layer", "layer.yaml", "greeting-lib", "hello-layer")]
    [InlineData("custom-runtime-layer", "function.yaml", "bash-runtime", "hello-layer-runtime")]
    public async Task Example_manifests_with_url_content_publish_the_layer_and_deploy_the_function_with_it(string example, string manifest, string layerName, string functionName)
    {
        var folder = Path.Combine(RepoRoot.Path, "examples", example);
        var objects = KubernetesYaml.LoadAllFromString(await File.ReadAllTextAsync(Path.Combine(folder, manifest)), new Dictionary<string, Type>
        {
            [$"{ApiGroup.Group}/{ApiGroup.Version}/{Layer.KindName}"] = typeof(Layer),
            [$"{ApiGroup.Group}/{ApiGroup.Version}/{Function.KindName}"] = typeof(Function),
        });
        var layer = Assert.Single(objects.OfType<Layer>());
        var function = Assert.Single(objects.OfType<Function>());
        Assert.Equal((layerName, functionName), (layer.Metadata.Name, function.Metadata.Name));

        // The README's cluster step: zip the folder, host it, give its URL and checksum.
        var content = zips.Serve($"{example}-layer.zip", ZipOf(Path.Combine(folder, layer.Spec.Content.Path!)));
        layer.Spec.Content = new LayerContent { Url = content.Url, Sha256 = content.Sha256 };
        var code = zips.Serve($"{example}-code.zip", ZipOf(Path.Combine(folder, function.Spec.Code.Path!)));
        function.Spec.Code = new FunctionCode { Url = code.Url, Sha256 = code.Sha256 };
        layer.Metadata.NamespaceProperty = function.Metadata.NamespaceProperty = "default";
        await harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(layer, ApiGroup.Group, ApiGroup.Version, "default", Layer.Plural);
        await harness.CreateAsync(function);

        var published = await harness.WaitLayerAsync(layerName, l => l.Status!.LatestVersion == 1, "version 1");
        Assert.Equal(content.Sha256, published.Status!.Versions![0].CodeSha256);
        await harness.WaitReadyAsync(functionName);
        var pod = (await harness.DeploymentAsync(functionName))!.Spec.Template.Spec;
        var init = pod.InitContainers.Single(c => c.Name == Names.LayerContainerPrefix + "0");
        Assert.Equal((content.Url, content.Sha256), (init.Env.Single(e => e.Name == "FNOP_URL").Value, init.Env.Single(e => e.Name == "FNOP_SHA256").Value));
        Assert.Contains(pod.Containers[0].VolumeMounts, m => (m.MountPath, m.ReadOnlyProperty) == ("/opt", true));
    }

    /// <summary>A zip of the folder's files, laid out relative to it (as <c>cd folder &amp;&amp; zip -r</c> makes it).</summary>
    private static byte[] ZipOf(string folder) => ZipServer.Zip([.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal)
        .Select(f => (Path.GetRelativePath(folder, f).Replace('\\', '/'), File.ReadAllText(f)))]);
}
