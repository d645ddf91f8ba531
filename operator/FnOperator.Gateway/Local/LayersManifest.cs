using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FnOperator.Api;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FnOperator.Gateway.Local;

/// <summary>A Layer read from a manifest: its content folder resolved against the manifest's folder (path content).</summary>
public sealed record LocalLayerManifest(Layer Layer, string ManifestFile, string? Directory)
{
    public string Namespace => string.IsNullOrEmpty(Layer.Metadata.NamespaceProperty) ? "default" : Layer.Metadata.NamespaceProperty;

    public string Name => Layer.Metadata.Name;
}

/// <summary>
/// The Layer documents of the manifests local mode serves (the same files <see cref="ManifestLoader"/> reads Functions
/// from). path and url+sha256 content is served; configMap and image content needs a cluster and is reported.
/// </summary>
public static class LayersManifest
{
    private static readonly JsonSerializerOptions JsonOptions = new() { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    public static (List<LocalLayerManifest> Layers, List<SkippedResource> Skipped) Load(string path)
    {
        var layers = new List<LocalLayerManifest>();
        var skipped = new List<SkippedResource>();
        var full = Path.GetFullPath(path);
        if (!File.Exists(full) && !System.IO.Directory.Exists(full))
        {
            return (layers, skipped);
        }

        foreach (var file in ManifestLoader.ManifestFiles(full))
        {
            var stream = new YamlStream();
            try
            {
                using var reader = new StreamReader(file);
                stream.Load(reader);
            }
            catch (Exception e) when (e is YamlException or IOException)
            {
                continue; // ManifestLoader reports it
            }

            foreach (var document in stream.Documents)
            {
                if (Read(document.RootNode) is not { } layer)
                {
                    continue;
                }

                var where = ManifestLoader.DisplayPath(file);
                var content = layer.Spec.Content;
                if (content.Path is { } folder)
                {
                    layers.Add(new LocalLayerManifest(layer, where, Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, folder))));
                }
                else if (content.Url is not null && content.Sha256 is not null)
                {
                    layers.Add(new LocalLayerManifest(layer, where, null));
                }
                else
                {
                    skipped.Add(new SkippedResource(where, Layer.KindName, layer.Metadata.Name,
                        "its content comes from a configMap or an image, which need a cluster; local mode serves content.path and content.url"));
                }
            }
        }

        return (layers, skipped);
    }

    private static Layer? Read(YamlNode root)
    {
        try
        {
            if (YamlToJson.Convert(root) is not JsonObject obj || (obj["kind"] as JsonValue)?.ToString() != Layer.KindName
                || ManifestLoader.HasShapeProblems(obj)) // reported by ManifestLoader
            {
                return null;
            }

            var layer = obj.Deserialize<Layer>(JsonOptions);
            return layer is { Metadata.Name.Length: > 0, Spec.Content: not null } ? layer : null;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return null;
        }
    }
}
