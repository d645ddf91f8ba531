using System.Net;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using k8s;
using k8s.Autorest;

namespace FnOperator.Operator.Controllers;

/// <summary>Resolves spec.layers to the immutable layer versions whose archives go into /opt.</summary>
public interface ILayerResolver
{
    Task<(IReadOnlyList<ResolvedLayer> Layers, SpecProblem? Problem)> ResolveAsync(Function fn, CancellationToken cancellationToken);
}

/// <summary>
/// Reads Layer objects (layers.fnoperator.io) through the CustomObjects API and picks the requested version (the
/// highest when none is named) from status.versions[] entries of the shape {version, codeSha256, url} (the Layer CRD's status.versions).
/// </summary>
public sealed class LayerResolver(IKubernetes client) : ILayerResolver
{
    public const string Plural = "layers";

    public async Task<(IReadOnlyList<ResolvedLayer> Layers, SpecProblem? Problem)> ResolveAsync(Function fn, CancellationToken cancellationToken)
    {
        var references = fn.Spec.Layers ?? [];
        if (references.Count == 0)
        {
            return ([], null);
        }

        var ns = fn.Metadata.NamespaceProperty;
        var layers = new List<ResolvedLayer>(references.Count);
        foreach (var reference in references)
        {
            JsonElement layer;
            try
            {
                layer = (JsonElement)await client.CustomObjects.GetNamespacedCustomObjectAsync(
                    ApiGroup.Group, ApiGroup.Version, ns, Plural, reference.Name, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                return ([], new SpecProblem(FunctionReasons.LayerNotFound, $"Layer {ns}/{reference.Name} does not exist."));
            }

            var version = PickVersion(layer, reference.Version);
            if (version is null)
            {
                var which = reference.Version is int v ? $"version {v}" : "a published version";
                return ([], new SpecProblem(FunctionReasons.LayerNotFound, $"Layer {ns}/{reference.Name} has no {which}."));
            }

            layers.Add(version with { Name = reference.Name });
        }

        return (layers, null);
    }

    internal static ResolvedLayer? PickVersion(JsonElement layer, int? wanted)
    {
        if (!layer.TryGetProperty("status", out var status) || !status.TryGetProperty("versions", out var versions) ||
            versions.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        ResolvedLayer? best = null;
        foreach (var entry in versions.EnumerateArray())
        {
            if (!entry.TryGetProperty("version", out var number) || !number.TryGetInt32(out var n) ||
                !entry.TryGetProperty("url", out var url) || !entry.TryGetProperty("codeSha256", out var sha))
            {
                continue;
            }

            var candidate = new ResolvedLayer("", n, url.GetString() ?? "", sha.GetString() ?? "");
            if (wanted is int w ? n == w : best is null || n > best.Version)
            {
                best = candidate;
            }
        }

        return best;
    }
}
