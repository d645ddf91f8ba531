using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Resolves spec.layers to the immutable layer versions whose archives go into /opt, from the Layer informer's cache:
/// the requested version, or the highest when none is named, from status.versions[]. A Layer that is missing or has
/// no such version re-enqueues the Function when it changes (the Function informer's <see cref="ByLayer"/> index).
/// </summary>
public sealed class LayerResolver(Informer<Layer> layers)
{
    /// <summary>Index of the Function cache: the keys (namespace/name) of the Layers a Function uses.</summary>
    public const string ByLayer = "layers";

    public static IEnumerable<string> LayerKeys(Function fn) =>
        (fn.Spec.Layers ?? []).Select(l => new ObjectKey(fn.Metadata.NamespaceProperty ?? "", l.Name).ToString());

    /// <summary>The layer phase: sets <see cref="FunctionState.Layers"/>, or the first layer that cannot be resolved.</summary>
    public Task<Problem?> ResolveAsync(FunctionState state, CancellationToken cancellationToken)
    {
        var fn = state.Function;
        var ns = fn.Metadata.NamespaceProperty ?? "";
        var resolved = new List<ResolvedLayer>();
        foreach (var reference in fn.Spec.Layers ?? [])
        {
            var layer = layers.Get(new ObjectKey(ns, reference.Name));
            if (layer is null)
            {
                return Task.FromResult<Problem?>(NotFound($"Layer {ns}/{reference.Name} does not exist."));
            }

            if (PickVersion(layer.Status, reference.Version) is not { } version)
            {
                var which = reference.Version is int v ? $"version {v}" : "a published version";
                return Task.FromResult<Problem?>(NotFound($"Layer {ns}/{reference.Name} has no {which}."));
            }

            resolved.Add(version with { Name = reference.Name });
        }

        state.Layers = resolved;
        return Task.FromResult<Problem?>(null);
    }

    /// <summary>The named version, or the highest complete one (with url and codeSha256) when none is named.</summary>
    internal static ResolvedLayer? PickVersion(LayerStatus? status, int? wanted)
    {
        ResolvedLayer? best = null;
        foreach (var entry in status?.Versions ?? [])
        {
            if (string.IsNullOrEmpty(entry.Url) || string.IsNullOrEmpty(entry.CodeSha256))
            {
                continue;
            }

            if (wanted is int w ? entry.Version == w : best is null || entry.Version > best.Version)
            {
                best = new ResolvedLayer("", entry.Version, entry.Url, entry.CodeSha256);
            }
        }

        return best;
    }

    private static Problem NotFound(string message) => Problem.AfterDependency(FunctionConditions.CodeReady, FunctionReasons.LayerNotFound, message);
}
