using FnOperator.Api;

namespace FnOperator.Gateway.Functions;

/// <summary>A published version as the gateway serves it: its frozen spec, code digest and description.</summary>
public sealed record PublishedVersion(string Version, FunctionSpec Spec, string? CodeSha256, string? Description);

/// <summary>The registry's versions and aliases as sources (local state, the cluster watch) replace them, and as the Lambda API lists them.</summary>
public sealed partial class FunctionRegistry
{
    /// <summary>The published versions of a function, by number (ascending); empty when it is not registered.</summary>
    public IReadOnlyList<PublishedVersion> VersionsOf(FunctionKey key) =>
        _entries.TryGetValue(key, out var entry)
            ? [.. entry.Versions.Values.OrderBy(v => int.Parse(v.Version, System.Globalization.CultureInfo.InvariantCulture))]
            : [];

    /// <summary>
    /// The spec a version runs with: $LATEST's for "$LATEST", the frozen one of a published version; $LATEST's again for a
    /// version that is gone (pruned or deleted while its invocations were queued). False when the function is not registered.
    /// </summary>
    public bool TryGetVersionSpec(FunctionKey key, string? version, out FunctionSpec spec)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            spec = version is not null && entry.Versions.TryGetValue(version, out var published) ? published.Spec : entry.Latest;
            return true;
        }

        spec = null!;
        return false;
    }

    /// <summary>Removes one published version (delete-function --qualifier N). False when it was not there.</summary>
    public bool RemoveVersion(FunctionKey key, string version)
    {
        while (_entries.TryGetValue(key, out var old) && old.Versions.ContainsKey(version))
        {
            var versions = new Dictionary<string, PublishedVersion>(old.Versions, StringComparer.Ordinal);
            versions.Remove(version);
            if (_entries.TryUpdate(key, old with { Versions = versions }, old))
            {
                Changed?.Invoke(key);
                return true;
            }
        }

        return false;
    }

    /// <summary>The aliases of a function, by name; empty when it is not registered.</summary>
    public IReadOnlyList<KeyValuePair<string, AliasRoute>> AliasesOf(FunctionKey key) =>
        _entries.TryGetValue(key, out var entry) ? [.. entry.Aliases.OrderBy(a => a.Key, StringComparer.Ordinal)] : [];

    public bool TryGetAlias(FunctionKey key, string alias, out AliasRoute route)
    {
        route = null!;
        return _entries.TryGetValue(key, out var entry) && entry.Aliases.TryGetValue(alias, out route!);
    }

    /// <summary>
    /// Replaces a registered function's published versions and aliases at once (a source that knows them all, such as
    /// the cluster watch); nothing happens, and no change is raised, when the function is not registered or nothing
    /// differs. True when something changed.
    /// </summary>
    public bool ReplaceVersions(FunctionKey key, IReadOnlyList<PublishedVersion> versions, IReadOnlyDictionary<string, AliasRoute> aliases)
    {
        while (_entries.TryGetValue(key, out var old))
        {
            var byNumber = versions.ToDictionary(v => v.Version, StringComparer.Ordinal);
            if (SameVersions(old.Versions, byNumber) && old.Aliases.Count == aliases.Count &&
                aliases.All(a => old.Aliases.TryGetValue(a.Key, out var route) && route == a.Value))
            {
                return false;
            }

            if (_entries.TryUpdate(key, old with { Versions = byNumber, Aliases = new Dictionary<string, AliasRoute>(aliases, StringComparer.Ordinal) }, old))
            {
                Changed?.Invoke(key);
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Lambda's rule for a FunctionName that carries a qualifier and a Qualifier parameter that differs: 400
    /// InvalidParameterValueException with this message; null when they agree or only one is given.
    /// </summary>
    public static string? QualifierConflict(string functionNameOrArn, string? qualifier) =>
        !string.IsNullOrEmpty(qualifier) && FunctionNameParser.TryParse(functionNameOrArn, out var parsed) &&
        parsed.Qualifier is not null && parsed.Qualifier != qualifier
            ? "The derived qualifier from the function name does not match the specified qualifier."
            : null;

    private static bool SameVersions(IReadOnlyDictionary<string, PublishedVersion> a, IReadOnlyDictionary<string, PublishedVersion> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var other) &&
            other.CodeSha256 == p.Value.CodeSha256 && other.Description == p.Value.Description &&
            FnOperator.Gateway.Functions.SpecJson.Same(other.Spec, p.Value.Spec));
}

/// <summary>Value comparison of specs through their JSON (the model classes compare by reference).</summary>
internal static class SpecJson
{
    public static bool Same(FunctionSpec a, FunctionSpec b) =>
        ReferenceEquals(a, b) || System.Text.Json.JsonSerializer.Serialize(a) == System.Text.Json.JsonSerializer.Serialize(b);
}
