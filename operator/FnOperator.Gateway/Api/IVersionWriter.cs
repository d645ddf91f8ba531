using FnOperator.Api;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Api;

/// <summary>
/// Where publish-version and the alias writes go: the registry itself (tests), local mode's state folder, or the
/// cluster (the Function's publish request for the operator, Alias objects). Reads always come from the registry.
/// </summary>
public interface IVersionWriter
{
    /// <summary>$LATEST's code digest, as publish-version's CodeSha256 check and GetFunctionConfiguration report it.</summary>
    string CodeSha256(FunctionKey key, FunctionSpec latest);

    /// <summary>Publishes $LATEST as the next version, or returns the highest version when nothing changed since it.</summary>
    Task<PublishedVersion> PublishAsync(FunctionKey key, string? description, CancellationToken cancellationToken);

    Task SetAliasAsync(FunctionKey key, string name, AliasRoute route, CancellationToken cancellationToken);

    Task<bool> DeleteAliasAsync(FunctionKey key, string name, CancellationToken cancellationToken);

    /// <summary>Deletes one published version (the caller checked that no alias names it); its number is not reused.</summary>
    Task DeleteVersionAsync(FunctionKey key, string version, CancellationToken cancellationToken);
}

/// <summary>Writes straight into the registry (numbers never reused within the process): the default, and what local mode persists.</summary>
public class RegistryVersionWriter(FunctionRegistry functions) : IVersionWriter
{
    private readonly Dictionary<FunctionKey, int> highest = [];

    protected FunctionRegistry Functions => functions;

    public virtual string CodeSha256(FunctionKey key, FunctionSpec latest) => latest.Code.Sha256 ?? LambdaShapes.Digest(latest);

    public virtual Task<PublishedVersion> PublishAsync(FunctionKey key, string? description, CancellationToken cancellationToken)
    {
        if (!functions.TryGet(key, out var latest))
        {
            throw new KeyNotFoundException($"Function {key} is not registered.");
        }

        var sha = CodeSha256(key, latest);
        lock (highest)
        {
            var versions = functions.VersionsOf(key);
            if (versions.Count > 0 && versions[^1].CodeSha256 == sha && SpecJson.Same(versions[^1].Spec, latest))
            {
                return Task.FromResult(versions[^1]);
            }

            var number = Math.Max(Math.Max(highest.GetValueOrDefault(key), HighestEver(key)),
                versions.Count == 0 ? 0 : int.Parse(versions[^1].Version, System.Globalization.CultureInfo.InvariantCulture)) + 1;
            highest[key] = number;
            var version = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var frozen = Freeze(key, version, latest);
            functions.PublishVersion(key, version, frozen, sha, description);
            return Task.FromResult(functions.VersionsOf(key).Single(v => v.Version == version));
        }
    }

    public virtual Task SetAliasAsync(FunctionKey key, string name, AliasRoute route, CancellationToken cancellationToken)
    {
        functions.SetAlias(key, name, route);
        return Task.CompletedTask;
    }

    public virtual Task<bool> DeleteAliasAsync(FunctionKey key, string name, CancellationToken cancellationToken) =>
        Task.FromResult(functions.RemoveAlias(key, name));

    public virtual Task DeleteVersionAsync(FunctionKey key, string version, CancellationToken cancellationToken)
    {
        functions.RemoveVersion(key, version);
        return Task.CompletedTask;
    }

    /// <summary>The highest number a durable store ever handed out (none here: the process remembers its own).</summary>
    protected virtual int HighestEver(FunctionKey key) => 0;

    /// <summary>The spec a new version keeps (a copy, so later edits of $LATEST do not reach it); local mode also copies the code.</summary>
    protected virtual FunctionSpec Freeze(FunctionKey key, string version, FunctionSpec latest) =>
        System.Text.Json.JsonSerializer.Deserialize<FunctionSpec>(System.Text.Json.JsonSerializer.Serialize(latest))!;
}
