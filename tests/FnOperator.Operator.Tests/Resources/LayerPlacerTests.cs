using FnOperator.Api;
using FnOperator.Operator.Resources;
using k8s.Models;

namespace FnOperator.Operator.Tests.Resources;

/// <summary>Builder table tests: each layer source becomes an init container that places it into the pod's /opt, in spec order.</summary>
public sealed class LayerPlacerTests
{
    private static readonly OperatorOptions Options = new() { FetchImage = "busybox:1.37" };

    private static readonly ResolvedCode Code = new() { Source = CodeSource.Url, Url = "https://code.example.com/hello.zip", Sha256 = TestFunctions.Sha };

    private static readonly ResolvedLayer UrlLayer = new("base", 3, new string('a', 64)) { Url = "https://l/base.zip" };
    private static readonly ResolvedLayer ConfigMapLayer = new("small", 1, new string('b', 64)) { ConfigMap = "small-v1" };
    private static readonly ResolvedLayer ImageLayer = new("runtime", 2, new string('c', 64)) { Image = "registry.example/rust-runtime:2" };

    private static V1PodSpec Pod(string runtime, params ResolvedLayer[] layers) =>
        DeploymentBuilder.Build(TestFunctions.Node(change: s => s.Runtime = runtime), Code, layers, Options).Spec.Template.Spec;

    public static TheoryData<string> Runtimes => ["nodejs22.x", "nodejs20.x", "python3.12", "python3.9", "provided.al2023", "dotnet8"];

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void Layers_are_placed_in_spec_order_into_one_opt_volume_read_only_to_the_function(string runtime)
    {
        var pod = Pod(runtime, UrlLayer, ConfigMapLayer, ImageLayer);

        Assert.Equal(["install-shim", "fetch-code", "fetch-layer-0", "fetch-layer-1", "fetch-layer-2"], pod.InitContainers.Select(c => c.Name));
        var function = Assert.Single(pod.Containers);
        Assert.Contains(function.VolumeMounts, m => (m.Name, m.MountPath, m.ReadOnlyProperty) == (Names.LayersVolume, "/opt", true));
        Assert.NotNull(pod.Volumes.Single(v => v.Name == Names.LayersVolume).EmptyDir);
        // Every placer writes into the same volume, later ones over earlier ones.
        foreach (var init in pod.InitContainers.Skip(2))
        {
            Assert.Contains(init.VolumeMounts, m => m.Name == Names.LayersVolume && m.ReadOnlyProperty != true);
        }
    }

    [Fact]
    public void Url_layer_is_downloaded_checked_against_its_sha256_and_extracted_over_earlier_layers()
    {
        var init = Pod("nodejs22.x", UrlLayer).InitContainers.Single(c => c.Name == "fetch-layer-0");

        Assert.Equal("busybox:1.37", init.Image);
        Assert.Equal(("https://l/base.zip", new string('a', 64), "/opt"),
            (init.Env.Single(e => e.Name == "FNOP_URL").Value, init.Env.Single(e => e.Name == "FNOP_SHA256").Value, init.Env.Single(e => e.Name == "FNOP_TARGET").Value));
        var script = init.Command[2];
        Assert.Contains("sha256sum -c", script, StringComparison.Ordinal);
        Assert.Contains("unzip -q -o", script, StringComparison.Ordinal); // -o: a later layer's file replaces an earlier one's
        Assert.Equal("/opt", Assert.Single(init.VolumeMounts).MountPath);
    }

    [Fact]
    public void Config_map_layer_copies_its_immutable_snapshot()
    {
        var pod = Pod("python3.12", ConfigMapLayer);
        var init = pod.InitContainers.Single(c => c.Name == "fetch-layer-0");

        Assert.Equal("small-v1", pod.Volumes.Single(v => v.Name == LayerPlacer.SourceVolume(0)).ConfigMap.Name);
        Assert.Equal(["sh", "-c", "set -eu; cp -L /fnop-layer-source/* /opt/"], init.Command);
        Assert.Contains(init.VolumeMounts, m => (m.Name, m.MountPath, m.ReadOnlyProperty) == (LayerPlacer.SourceVolume(0), "/fnop-layer-source", true));
    }

    [Fact]
    public void Image_layer_copies_the_images_own_opt()
    {
        var init = Pod("provided.al2023", ImageLayer).InitContainers.Single(c => c.Name == "fetch-layer-0");

        Assert.Equal("registry.example/rust-runtime:2", init.Image);
        Assert.Equal(["sh", "-c", "set -eu; cp -R /opt/. /fnop-layers/"], init.Command);
        Assert.Equal((Names.LayersVolume, "/fnop-layers"), (Assert.Single(init.VolumeMounts).Name, init.VolumeMounts[0].MountPath));
    }

    [Fact]
    public void A_function_without_layers_has_no_opt_volume()
    {
        var pod = Pod("nodejs22.x");

        Assert.DoesNotContain(pod.Volumes, v => v.Name == Names.LayersVolume);
        Assert.DoesNotContain(pod.InitContainers, c => c.Name.StartsWith(Names.LayerContainerPrefix, StringComparison.Ordinal));
    }

    [Fact]
    public void A_new_layer_version_changes_the_pod_template()
    {
        var v1 = DeploymentBuilder.Build(TestFunctions.Node(), Code, [UrlLayer], Options).Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash];
        var v2 = DeploymentBuilder.Build(TestFunctions.Node(), Code, [UrlLayer with { Version = 4, Sha256 = new string('d', 64), Url = "https://l/base-4.zip" }], Options)
            .Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash];

        Assert.NotEqual(v1, v2);
    }
}
