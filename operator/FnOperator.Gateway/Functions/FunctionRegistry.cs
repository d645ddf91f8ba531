using System.Collections.Concurrent;
using FnOperator.Api;

namespace FnOperator.Gateway.Functions;

/// <summary>
/// Thread-safe catalog of the functions the gateway serves: each Function's $LATEST spec, its published versions and
/// its aliases. Fed by local mode (manifests) or by the cluster watch in serve mode. Name forms accepted by
/// <see cref="TryResolve"/> are described in docs/gateway.md.
/// </summary>
public sealed partial class FunctionRegistry(
    string region = FunctionRegistry.DefaultRegion,
    string accountId = FunctionRegistry.DefaultAccountId,
    Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;

    public const string DefaultRegion = "us-east-1";
    public const string DefaultAccountId = "000000000000";
    public const string Latest = FnOperator.Contracts.FunctionVersions.Latest;

    private readonly ConcurrentDictionary<FunctionKey, Entry> _entries = new();

    public string Region { get; } = region;

    public string AccountId { get; } = accountId;

    /// <summary>Raised after a function was added, changed or removed.</summary>
    public event Action<FunctionKey>? Changed;

    /// <summary>The registered functions and their $LATEST specs.</summary>
    public IReadOnlyList<KeyValuePair<FunctionKey, FunctionSpec>> All =>
        _entries.Select(e => KeyValuePair.Create(e.Key, e.Value.Latest)).OrderBy(e => e.Key.ToString(), StringComparer.Ordinal).ToList();

    /// <summary>Adds a function or replaces its $LATEST spec (published versions and aliases are kept).</summary>
    public void Upsert(FunctionKey key, FunctionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(spec);
        _entries.AddOrUpdate(key, _ => new Entry(spec, new Dictionary<string, PublishedVersion>(), new Dictionary<string, AliasRoute>()),
            (_, old) => old with { Latest = spec });
        Changed?.Invoke(key);
    }

    /// <summary>Records an immutable published version (a number) of a registered function.</summary>
    public void PublishVersion(FunctionKey key, string version, FunctionSpec spec, string? codeSha256 = null, string? description = null)
    {
        if (!int.TryParse(version, out var n) || n < 1)
        {
            throw new ArgumentException($"Version must be a positive number, got '{version}'.", nameof(version));
        }

        var published = new PublishedVersion(version, spec, codeSha256 ?? spec.Code.Sha256, description);
        Update(key, e => e with { Versions = new Dictionary<string, PublishedVersion>(e.Versions) { [version] = published } });
    }

    /// <summary>Points an alias (a name that is not a number and not $LATEST) at a version of a registered function.</summary>
    public void SetAlias(FunctionKey key, string alias, string version) => SetAlias(key, alias, new AliasRoute(version));

    /// <summary>
    /// Points an alias at a version, optionally shifting a share of invocations (<see cref="AliasRoute.AdditionalWeight"/>,
    /// 0.0-1.0) to one additional version, as Lambda's AliasRoutingConfiguration.
    /// </summary>
    public void SetAlias(FunctionKey key, string alias, AliasRoute route)
    {
        ArgumentNullException.ThrowIfNull(route);
        if (string.IsNullOrEmpty(alias) || alias == Latest || int.TryParse(alias, out _))
        {
            throw new ArgumentException($"'{alias}' is not a valid alias name.", nameof(alias));
        }

        if (route.AdditionalWeight is < 0 or > 1 || (route.AdditionalVersion is null && route.AdditionalWeight > 0))
        {
            throw new ArgumentException("The additional version weight must be 0.0-1.0 and needs an additional version.", nameof(route));
        }

        Update(key, e => e with { Aliases = new Dictionary<string, AliasRoute>(e.Aliases) { [alias] = route } });
    }

    public bool RemoveAlias(FunctionKey key, string alias)
    {
        var removed = false;
        Update(key, e =>
        {
            var aliases = new Dictionary<string, AliasRoute>(e.Aliases);
            removed = aliases.Remove(alias);
            return e with { Aliases = aliases };
        });
        return removed;
    }

    public bool Remove(FunctionKey key)
    {
        var removed = _entries.TryRemove(key, out _);
        if (removed)
        {
            Changed?.Invoke(key);
        }

        return removed;
    }

    public bool Contains(FunctionKey key) => _entries.ContainsKey(key);

    public bool TryGet(FunctionKey key, out FunctionSpec spec)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            spec = entry.Latest;
            return true;
        }

        spec = null!;
        return false;
    }

    /// <summary>True when the version ("$LATEST" or a number) of the function exists.</summary>
    public bool HasVersion(FunctionKey key, string version) =>
        _entries.TryGetValue(key, out var entry) && (version == Latest || entry.Versions.ContainsKey(version));

    /// <summary>
    /// Resolves a FunctionName as the Invoke API receives it (name, namespace/name, namespace.name, name:qualifier, or
    /// an ARN) plus the optional Qualifier parameter to one version of a registered function.
    /// </summary>
    public bool TryResolve(string functionNameOrArn, string? qualifier, out ResolvedFunction resolved)
    {
        resolved = null!;
        if (!FunctionNameParser.TryParse(functionNameOrArn, out var parsed))
        {
            return false;
        }

        if (!string.IsNullOrEmpty(qualifier) && parsed.Qualifier is not null && parsed.Qualifier != qualifier)
        {
            return false;
        }

        var effectiveQualifier = string.IsNullOrEmpty(qualifier) ? parsed.Qualifier : qualifier;
        foreach (var key in parsed.Candidates)
        {
            if (_entries.TryGetValue(key, out var entry))
            {
                return TryResolveVersion(key, entry, effectiveQualifier, out resolved);
            }
        }

        return false;
    }

    /// <summary>
    /// For a name that did not resolve: the same function name registered in other namespaces, as "namespace/name"
    /// (at most three, sorted), so a 404 can ask "did you mean team-a/my-fails?". Empty when there is none.
    /// </summary>
    public IReadOnlyList<string> SameNameInOtherNamespaces(string functionNameOrArn)
    {
        if (!FunctionNameParser.TryParse(functionNameOrArn, out var parsed))
        {
            return [];
        }

        var names = parsed.Candidates.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        return _entries.Keys
            .Where(k => names.Contains(k.Name) && !parsed.Candidates.Contains(k))
            .Select(k => $"{k.Namespace}/{k.Name}")
            .Order(StringComparer.Ordinal)
            .Take(3)
            .ToList();
    }

    /// <summary>The name of the function as it appears in ARNs: "name" in the default namespace, else "namespace.name".</summary>
    public static string DisplayName(FunctionKey key) =>
        key.Namespace == FunctionKey.DefaultNamespace ? key.Name : $"{key.Namespace}.{key.Name}";

    public string ArnOf(FunctionKey key) => $"arn:aws:lambda:{Region}:{AccountId}:function:{DisplayName(key)}";

    private bool TryResolveVersion(FunctionKey key, Entry entry, string? qualifier, out ResolvedFunction resolved)
    {
        resolved = null!;
        var arn = ArnOf(key);
        var invokedArn = string.IsNullOrEmpty(qualifier) ? arn : $"{arn}:{qualifier}";
        if (string.IsNullOrEmpty(qualifier) || qualifier == Latest)
        {
            resolved = new ResolvedFunction(key, Latest, entry.Latest, arn, invokedArn);
            return true;
        }

        var version = entry.Aliases.TryGetValue(qualifier, out var route) ? route.Pick(_random.NextDouble()) : qualifier;
        if (version == Latest)
        {
            resolved = new ResolvedFunction(key, Latest, entry.Latest, arn, invokedArn);
            return true;
        }

        if (entry.Versions.TryGetValue(version, out var published))
        {
            resolved = new ResolvedFunction(key, version, published.Spec, arn, invokedArn);
            return true;
        }

        return false;
    }

    private void Update(FunctionKey key, Func<Entry, Entry> change)
    {
        while (true)
        {
            if (!_entries.TryGetValue(key, out var old))
            {
                throw new KeyNotFoundException($"Function {key} is not registered.");
            }

            if (_entries.TryUpdate(key, change(old), old))
            {
                Changed?.Invoke(key);
                return;
            }
        }
    }

    private sealed record Entry(FunctionSpec Latest, IReadOnlyDictionary<string, PublishedVersion> Versions, IReadOnlyDictionary<string, AliasRoute> Aliases);
}

/// <summary>Where an alias sends invocations: <see cref="Version"/>, except a share <see cref="AdditionalWeight"/> sent to <see cref="AdditionalVersion"/>.</summary>
public sealed record AliasRoute(string Version, string? AdditionalVersion = null, double AdditionalWeight = 0)
{
    /// <summary>The alias's description (Lambda's Description).</summary>
    public string? Description { get; init; }

    /// <summary>The version for one invocation, given a uniform sample in [0, 1).</summary>
    public string Pick(double sample) => AdditionalVersion is not null && sample < AdditionalWeight ? AdditionalVersion : Version;
}
