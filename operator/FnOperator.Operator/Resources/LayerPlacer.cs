using System.Globalization;
using k8s.Models;

namespace FnOperator.Operator.Resources;

/// <summary>
/// The init container that places layer N into the pod's /opt emptyDir (mounted read-only in the function container):
/// an archive is downloaded, checked against its SHA-256 (a mismatch fails the pod) and extracted over what earlier layers
/// left; a snapshot ConfigMap is copied; an image's /opt is copied from the layer image itself.
/// </summary>
public static class LayerPlacer
{
    /// <summary>Where an image layer's init container sees the layers emptyDir (its own /opt is the content).</summary>
    public const string ImageTargetPath = "/fnop-layers";

    public static string ContainerName(int index) => Names.LayerContainerPrefix + index.ToString(CultureInfo.InvariantCulture);

    public static string SourceVolume(int index) => "layer-source-" + index.ToString(CultureInfo.InvariantCulture);

    public static V1Container Container(int index, ResolvedLayer layer, List<V1Volume> volumes, OperatorOptions options)
    {
        var name = ContainerName(index);
        if (layer.Url is { } url)
        {
            return PodSpecBuilder.Fetcher(name, url, layer.Sha256, Names.LayersVolume, Names.LayersMountPath, options);
        }

        if (layer.ConfigMap is { } configMap)
        {
            var source = SourceVolume(index);
            var sourcePath = "/fnop-layer-source";
            volumes.Add(new V1Volume { Name = source, ConfigMap = new V1ConfigMapVolumeSource { Name = configMap } });
            return Placer(name, options.FetchImage, $"set -eu; cp -L {sourcePath}/* {Names.LayersMountPath}/",
            [
                new V1VolumeMount { Name = source, MountPath = sourcePath, ReadOnlyProperty = true },
                new V1VolumeMount { Name = Names.LayersVolume, MountPath = Names.LayersMountPath },
            ]);
        }

        return Placer(name, layer.Image!, $"set -eu; cp -R /opt/. {ImageTargetPath}/",
            [new V1VolumeMount { Name = Names.LayersVolume, MountPath = ImageTargetPath }]);
    }

    private static V1Container Placer(string name, string image, string script, List<V1VolumeMount> mounts) => new()
    {
        Name = name,
        Image = image,
        Command = ["sh", "-c", script],
        VolumeMounts = mounts,
        Resources = PodSpecBuilder.InitResources(),
        SecurityContext = PodSpecBuilder.Restricted(),
    };
}
