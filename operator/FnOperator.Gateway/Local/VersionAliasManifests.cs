using System.Text.Json;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Functions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Alias manifests (kind Alias, the YAML users kubectl apply) in local mode's functions folder: registered once the
/// versions they name exist (published in this or an earlier run), as the Alias reconciler would resolve them.
/// Aliases written by the alias API calls (the state folder) win over a manifest's of the same name only until restart.
/// </summary>
public static class VersionAliasManifests
{
    private const int MaxFiles = 1000;

    /// <summary>The Alias documents under <paramref name="path"/> (a file or a folder, recursively), with the problems found.</summary>
    public static (IReadOnlyList<Alias> Aliases, IReadOnlyList<string> Problems) Load(string path)
    {
        var aliases = new List<Alias>();
        var problems = new List<string>();
        var full = Path.GetFullPath(path);
        IEnumerable<string> files = File.Exists(full) ? [full]
            : Directory.Exists(full) ? Directory.EnumerateFiles(full, "*.y*ml", SearchOption.AllDirectories)
                .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(p => p.StartsWith('.') || p == "node_modules")).Order(StringComparer.Ordinal).Take(MaxFiles)
            : [];
        foreach (var file in files)
        {
            var stream = new YamlStream();
            try
            {
                using var reader = new StreamReader(file);
                stream.Load(reader);
            }
            catch (Exception e) when (e is YamlException or IOException)
            {
                continue; // the Function loader reports unreadable files
            }

            foreach (var document in stream.Documents)
            {
                if (YamlToJson.Convert(document.RootNode) is JsonObject obj && (string?)obj["kind"] == Alias.KindName
                    && !ManifestLoader.HasShapeProblems(obj)) // reported by ManifestLoader
                {
                    try
                    {
                        var alias = obj.Deserialize<Alias>();
                        if (alias?.Metadata?.Name is { Length: > 0 } && alias.Spec is not null)
                        {
                            aliases.Add(alias);
                        }
                    }
                    catch (JsonException e)
                    {
                        problems.Add($"{ManifestLoader.DisplayPath(file)}: Alias: {e.Message}");
                    }
                }
            }
        }

        return (aliases, problems);
    }

    /// <summary>Registers the aliases whose function and versions exist; returns a line per alias: what it routes to, or why it could not be registered.</summary>
    public static IReadOnlyList<string> Register(FunctionRegistry functions, IEnumerable<Alias> aliases)
    {
        var notes = new List<string>();
        foreach (var alias in aliases)
        {
            var key = new FunctionKey(string.IsNullOrEmpty(alias.Metadata.NamespaceProperty) ? FunctionKey.DefaultNamespace : alias.Metadata.NamespaceProperty, alias.Spec.FunctionName);
            var name = string.IsNullOrEmpty(alias.Spec.Name) ? alias.Metadata.Name : alias.Spec.Name;
            var weights = alias.Spec.RoutingConfig?.AdditionalVersionWeights;
            if (!functions.Contains(key))
            {
                notes.Add($"Alias {name}: Function {key} is not served (FunctionNotFound)");
                continue;
            }

            if (AliasRules.RoutingError(alias.Spec.FunctionVersion, weights) is { } error)
            {
                notes.Add($"Alias {name}: {error} (InvalidWeights)");
                continue;
            }

            var missing = new[] { alias.Spec.FunctionVersion }.Concat(weights?.Keys ?? Enumerable.Empty<string>()).Where(v => !functions.HasVersion(key, v)).ToList();
            if (missing.Count > 0)
            {
                notes.Add($"Alias {name}: {key} has no version {string.Join(", ", missing)} yet; publish it (aws lambda publish-version) and restart (VersionNotFound)");
                continue;
            }

            var extra = weights is { Count: 1 } ? weights.First() : default;
            functions.SetAlias(key, name, new AliasRoute(alias.Spec.FunctionVersion, extra.Key, extra.Key is null ? 0 : extra.Value) { Description = alias.Spec.Description });
            notes.Add(extra.Key is null
                ? $"Alias {name}: {FunctionRegistry.DisplayName(key)}:{name} runs version {alias.Spec.FunctionVersion}"
                : $"Alias {name}: {FunctionRegistry.DisplayName(key)}:{name} runs version {alias.Spec.FunctionVersion}, {extra.Value * 100:0.##}% version {extra.Key}");
        }

        return notes;
    }
}
