using System.Globalization;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Resolves spec.layers to the immutable layer versions that go into /opt, from the Layer informer's cache: the requested
/// version, or the latest when none is named, from status.versions[]. Then Lambda's limits: at most
/// <see cref="LayerLimits.MaxLayers"/> layers, each compatible with the function's runtime (when the version names
/// runtimes), and at most <see cref="LayerLimits.MaxUnzippedBytes"/> extracted, the function's own code
/// (<see cref="FunctionCodeSize"/>) counted with its layers. A problem stops the reconcile before the
/// Deployment phase, so nothing rolls. A Layer that is missing or changes re-enqueues the Function (the Function
/// informer's <see cref="ByLayer"/> index).
/// </summary>
public sealed class LayerResolver(Informer<Layer> layers, FunctionCodeSize codeSize, IEventRecorder events)
{
    /// <summary>Index of the Function cache: the keys (namespace/name) of the Layers a Function uses.</summary>
    public const string ByLayer = "layers";

    public static IEnumerable<string> LayerKeys(Function fn) =>
        (fn.Spec.Layers ?? []).Select(l => new ObjectKey(fn.Metadata.NamespaceProperty ?? "", l.Name).ToString());

    /// <summary>The layer phase: sets <see cref="FunctionState.Layers"/>, or the first problem.</summary>
    public async Task<Problem?> ResolveAsync(FunctionState state, CancellationToken cancellationToken)
    {
        if (Resolve(state) is { } problem)
        {
            return problem;
        }

        if (state.Layers.Count == 0)
        {
            return null;
        }

        // Lambda's 250 MB counts the function's code with its layers; without layers the code alone is not measured here.
        var layerBytes = state.Layers.Sum(l => l.UnzippedSize);
        var (code, unknown, codeProblem) = await codeSize.MeasureAsync(state, cancellationToken).ConfigureAwait(false);
        if (codeProblem is not null)
        {
            return codeProblem;
        }

        if (code is long codeBytes && codeBytes + layerBytes > LayerLimits.MaxUnzippedBytes)
        {
            return Problem.Terminal(FunctionConditions.CodeReady, FunctionReasons.LayersTooLarge, LayerLimits.Unzipped(
                string.Create(CultureInfo.InvariantCulture, $"the function's code ({codeBytes} bytes) with its {state.Layers.Count} layers ({layerBytes} bytes) together"), codeBytes + layerBytes));
        }

        if (unknown is not null)
        {
            events.Record(state.Function, EventType.Normal, CodeSizeUnknown,
                $"Only the layers ({layerBytes.ToString(CultureInfo.InvariantCulture)} bytes) count toward the {LayerLimits.MaxUnzippedBytes.ToString(CultureInfo.InvariantCulture)}-byte unzipped limit: the code's size is unknown ({unknown}).");
        }

        return null;
    }

    /// <summary>Event reason: the code's unzipped size could not be measured, so only the layers were counted.</summary>
    public const string CodeSizeUnknown = "CodeSizeUnknown";

    private Problem? Resolve(FunctionState state)
    {
        var fn = state.Function;
        var ns = fn.Metadata.NamespaceProperty ?? "";
        var references = fn.Spec.Layers ?? [];
        if (references.Count > LayerLimits.MaxLayers)
        {
            return Problem.Terminal(FunctionConditions.CodeReady, FunctionReasons.TooManyLayers, LayerLimits.TooManyLayers(references.Count));
        }

        var resolved = new List<ResolvedLayer>();
        foreach (var reference in references)
        {
            var layer = layers.Get(new ObjectKey(ns, reference.Name));
            if (layer is null)
            {
                return NotFound($"Layer {ns}/{reference.Name} does not exist.");
            }

            if (PickVersion(layer.Status, reference.Version) is not { } version)
            {
                var which = reference.Version is int v ? $"version {v}" : "a published version";
                return NotFound($"Layer {ns}/{reference.Name} has no {which}.");
            }

            if (fn.Spec.Runtime is { } runtime && version.CompatibleRuntimes.Count > 0 && !version.CompatibleRuntimes.Contains(runtime, StringComparer.Ordinal))
            {
                return Problem.Terminal(FunctionConditions.CodeReady, FunctionReasons.IncompatibleLayer,
                    LayerLimits.Incompatible($"{ns}/{reference.Name}:{version.Version}", runtime, version.CompatibleRuntimes));
            }

            resolved.Add(version with { Name = reference.Name });
        }

        var unzipped = resolved.Sum(l => l.UnzippedSize);
        if (unzipped > LayerLimits.MaxUnzippedBytes)
        {
            return Problem.Terminal(FunctionConditions.CodeReady, FunctionReasons.LayersTooLarge,
                LayerLimits.Unzipped($"the function's {resolved.Count} layers together", unzipped));
        }

        state.Layers = resolved;
        return null;
    }

    /// <summary>The named version, or the latest (highest) when none is named; only versions with content to place.</summary>
    internal static ResolvedLayer? PickVersion(LayerStatus? status, int? wanted)
    {
        LayerVersion? best = null;
        foreach (var entry in status?.Versions ?? [])
        {
            if (string.IsNullOrEmpty(entry.CodeSha256) || (entry.Url, entry.ConfigMap, entry.Image) is (null or "", null or "", null or ""))
            {
                continue;
            }

            if (wanted is int w ? entry.Version == w : best is null || entry.Version > best.Version)
            {
                best = entry;
            }
        }

        return best is null ? null : new ResolvedLayer("", best.Version, best.CodeSha256)
        {
            Url = string.IsNullOrEmpty(best.Url) ? null : best.Url,
            ConfigMap = best.ConfigMap,
            Image = best.Image,
            UnzippedSize = best.UnzippedSize,
            CompatibleRuntimes = best.CompatibleRuntimes ?? [],
        };
    }

    private static Problem NotFound(string message) => Problem.AfterDependency(FunctionConditions.CodeReady, FunctionReasons.LayerNotFound, message);
}
