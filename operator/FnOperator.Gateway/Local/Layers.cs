using FnOperator.Api;
using FnOperator.Contracts;

namespace FnOperator.Gateway.Local;

/// <summary>A function's resolved layers, in spec order, and its merged /opt (<c>FNOP_LAYERS_ROOT</c> of its shims).</summary>
public sealed record FunctionLayers(LocalFunction Function, IReadOnlyList<(LayerReference Reference, LocalLayerVersion Version)> Resolved, string OptDirectory)
{
    public bool Follows(string ns, string layer) => Function.Namespace == ns && Resolved.Any(r => r.Reference.Name == layer && r.Reference.Version is null);
}

/// <summary>
/// Layers in local mode. A function has no container, and the host's /opt cannot differ per function, so each function
/// that lists layers gets its own merged folder <c>&lt;state&gt;/opt/&lt;namespace&gt;/&lt;function&gt;</c>: the layer versions
/// copied in spec order (a later layer's file replaces an earlier one's). Its shims get <c>FNOP_LAYERS_ROOT</c> pointing
/// there, and the shim roots the Lambda layer paths (NODE_PATH, PYTHONPATH, PATH, LD_LIBRARY_PATH, the provided
/// bootstrap fallback) at it. Lambda's limits apply as in a cluster; a function whose layers cannot be resolved is skipped.
/// </summary>
public sealed class Layers(LayersStore store)
{
    private readonly Dictionary<LocalFunction, FunctionLayers> bound = [];
    private readonly List<SkippedResource> layerProblems = [];

    public LayersStore Store => store;

    public IReadOnlyCollection<FunctionLayers> Bound => bound.Values;

    /// <summary>Publishes version 1 of every layer in the manifests (a layer whose content fails is reported as skipped).</summary>
    public static async Task<Layers> LoadAsync(string manifests, string stateDirectory, LayersCache cache, CancellationToken cancellationToken)
    {
        var layers = new Layers(new LayersStore(stateDirectory, cache));
        var (found, skipped) = LayersManifest.Load(manifests);
        layers.layerProblems.AddRange(skipped);
        foreach (var manifest in found)
        {
            try
            {
                await layers.Store.PublishAsync(manifest, cancellationToken).ConfigureAwait(false);
            }
            catch (LayerContentException e)
            {
                layers.layerProblems.Add(new SkippedResource(manifest.ManifestFile, Layer.KindName, manifest.Name, e.Message));
            }
        }

        return layers;
    }

    /// <summary>
    /// The manifests with the functions whose layers resolve kept (their merged /opt built) and the others skipped with the
    /// reason; Layer documents are no longer listed as "not served".
    /// </summary>
    public ManifestSet Bind(ManifestSet manifests)
    {
        var functions = new List<LocalFunction>();
        var skipped = manifests.Skipped.Where(s => s.Kind != Layer.KindName).Concat(layerProblems).ToList();
        foreach (var fn in manifests.Functions)
        {
            if (fn.Function.Spec.Layers is not { Count: > 0 })
            {
                functions.Add(fn);
            }
            else if (Resolve(fn) is { } problem)
            {
                skipped.Add(new SkippedResource(fn.ManifestFile, Function.KindName, fn.Name, problem));
            }
            else
            {
                functions.Add(fn);
            }
        }

        return manifests with { Functions = functions, Skipped = skipped };
    }

    public string? OptFor(LocalFunction fn) => bound.TryGetValue(fn, out var layers) ? layers.OptDirectory : null;

    /// <summary>Lines for the start table: each function's layers, as name:version.</summary>
    public IEnumerable<string> TableLines()
    {
        if (bound.Count == 0)
        {
            yield break;
        }

        yield return "Layers (merged per function, FNOP_LAYERS_ROOT):";
        foreach (var fn in bound.Values.OrderBy(b => b.Function.Name, StringComparer.Ordinal))
        {
            var list = string.Join(", ", fn.Resolved.Select(r => $"{r.Reference.Name}:{r.Version.Number}{(r.Reference.Version is null ? " (latest)" : "")}"));
            yield return $"  {fn.Function.Name}: {list}";
        }
    }

    /// <summary>Resolves a function's layers again (after a new version) and rebuilds its merged /opt; null when it still resolves.</summary>
    public string? Rebind(LocalFunction fn) => Resolve(fn);

    private string? Resolve(LocalFunction fn)
    {
        var references = fn.Function.Spec.Layers!;
        if (references.Count > LayerLimits.MaxLayers)
        {
            return LayerLimits.TooManyLayers(references.Count);
        }

        var resolved = new List<(LayerReference, LocalLayerVersion)>();
        foreach (var reference in references)
        {
            var version = store.Find(fn.Namespace, reference.Name, reference.Version);
            if (version is null)
            {
                var problem = layerProblems.FirstOrDefault(p => p.Name == reference.Name)?.Reason;
                return problem is not null
                    ? $"layer {reference.Name}: {problem}"
                    : $"layer {fn.Namespace}/{reference.Name}{(reference.Version is int v ? $" version {v}" : "")} is not in the manifests";
            }

            if (version.CompatibleRuntimes.Count > 0 && !version.CompatibleRuntimes.Contains(fn.Function.Spec.Runtime ?? "", StringComparer.Ordinal))
            {
                return LayerLimits.Incompatible($"{reference.Name}:{version.Number}", fn.Function.Spec.Runtime ?? "", version.CompatibleRuntimes);
            }

            resolved.Add((reference, version));
        }

        var size = resolved.Sum(r => r.Item2.Size);
        if (size > LayerLimits.MaxUnzippedBytes)
        {
            return LayerLimits.Unzipped($"the function's {resolved.Count} layers together", size);
        }

        var opt = Path.Combine(store.StateDirectory, "opt", fn.Namespace, fn.Name);
        var staging = opt + ".new";
        LayersStore.TryDelete(staging);
        foreach (var (_, version) in resolved)
        {
            LayersStore.CopyFolder(version.Directory, staging);
        }

        Directory.CreateDirectory(staging);
        var old = opt + ".old";
        LayersStore.TryDelete(old);
        if (Directory.Exists(opt))
        {
            Directory.Move(opt, old); // running instances keep the files they opened; new ones see the new merge
        }

        Directory.Move(staging, opt);
        LayersStore.TryDelete(old);
        if (LambdaRuntimes.FamilyOf(fn.Function.Spec.Runtime) == RuntimeFamily.Provided
            && !File.Exists(Path.Combine(fn.CodeDirectory, "bootstrap")) && !File.Exists(Path.Combine(opt, "bootstrap")))
        {
            return $"no 'bootstrap' file in {ManifestLoader.DisplayPath(fn.CodeDirectory)} nor in its layers";
        }

        bound[fn] = new FunctionLayers(fn, resolved, opt);
        return null;
    }
}
