using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Gateway.Api;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Local mode's versions and aliases, kept across restarts under the state folder (<see cref="DefaultFolder"/>, or
/// <c>FNOP_LOCAL_STATE</c>): <c>&lt;state&gt;/&lt;namespace&gt;/&lt;name&gt;/versions/&lt;N&gt;/{version.json, code/}</c> (the spec
/// and a copy of the code folder as it was when published), <c>aliases.json</c> and <c>highest</c> (the highest number
/// ever handed out, so numbers are never reused). publish-version snapshots; the alias calls write aliases.json.
/// </summary>
public sealed class VersionStore(FunctionRegistry functions, string folder, IReadOnlyDictionary<FunctionKey, LocalFunction> locals) : RegistryVersionWriter(functions)
{
    public const string StateVariable = "FNOP_LOCAL_STATE";
    private const int MaxCodeFiles = 20_000;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Raised after a version was published (or loaded at start): local mode starts its instance pool.</summary>
    public event Action<LocalFunction, PublishedVersion, string>? VersionAdded;

    public string Folder => folder;

    public static string DefaultFolder =>
        Environment.GetEnvironmentVariable(StateVariable) is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state"), "fnoperator", "local");

    /// <summary>The code folder of a published version.</summary>
    public string CodeDirectory(FunctionKey key, string version) => Path.Combine(FunctionFolder(key), "versions", version, "code");

    /// <summary>Registers what earlier runs published and the aliases they wrote; raises <see cref="VersionAdded"/> for each version.</summary>
    public void Load()
    {
        foreach (var (key, local) in locals)
        {
            var versions = Path.Combine(FunctionFolder(key), "versions");
            if (Directory.Exists(versions))
            {
                foreach (var dir in Directory.EnumerateDirectories(versions).OrderBy(d => int.TryParse(Path.GetFileName(d), out var n) ? n : int.MaxValue))
                {
                    if (ReadVersion(dir) is { } stored && FunctionVersionsOk(stored.Version))
                    {
                        Functions.PublishVersion(key, stored.Version, stored.Spec, stored.CodeSha256, stored.Description);
                        VersionAdded?.Invoke(local, Functions.VersionsOf(key).Single(v => v.Version == stored.Version), CodeDirectory(key, stored.Version));
                    }
                }
            }

            foreach (var (name, route) in ReadAliases(key))
            {
                if (Functions.HasVersion(key, route.Version) && (route.AdditionalVersion is null || Functions.HasVersion(key, route.AdditionalVersion)))
                {
                    Functions.SetAlias(key, name, route);
                }
            }
        }
    }

    public override string CodeSha256(FunctionKey key, FunctionSpec latest) =>
        locals.TryGetValue(key, out var local) ? FolderDigest(local.CodeDirectory) : base.CodeSha256(key, latest);

    public override async Task<PublishedVersion> PublishAsync(FunctionKey key, string? description, CancellationToken cancellationToken)
    {
        if (!locals.TryGetValue(key, out var local))
        {
            return await base.PublishAsync(key, description, cancellationToken).ConfigureAwait(false);
        }

        var before = Functions.VersionsOf(key).Count;
        var published = await base.PublishAsync(key, description, cancellationToken).ConfigureAwait(false);
        if (Functions.VersionsOf(key).Count == before)
        {
            return published; // unchanged since the last version
        }

        var dir = Path.Combine(FunctionFolder(key), "versions", published.Version);
        CopyFolder(local.CodeDirectory, Path.Combine(dir, "code"));
        await File.WriteAllTextAsync(Path.Combine(dir, "version.json"), JsonSerializer.Serialize(published, Json), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(FunctionFolder(key), "highest"), published.Version, cancellationToken).ConfigureAwait(false);
        VersionAdded?.Invoke(local, published, Path.Combine(dir, "code"));
        return published;
    }

    public override async Task SetAliasAsync(FunctionKey key, string name, AliasRoute route, CancellationToken cancellationToken)
    {
        await base.SetAliasAsync(key, name, route, cancellationToken).ConfigureAwait(false);
        await WriteAliasesAsync(key, cancellationToken).ConfigureAwait(false);
    }

    public override async Task<bool> DeleteAliasAsync(FunctionKey key, string name, CancellationToken cancellationToken)
    {
        var removed = await base.DeleteAliasAsync(key, name, cancellationToken).ConfigureAwait(false);
        await WriteAliasesAsync(key, cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <summary>Removes the version from the registry and its folder from the state (the highest file keeps its number used).</summary>
    public override async Task DeleteVersionAsync(FunctionKey key, string version, CancellationToken cancellationToken)
    {
        if (locals.ContainsKey(key) && FunctionVersionsOk(version))
        {
            // Keep "highest" at least this number (a state folder from before the file existed), then drop the folder.
            var highest = HighestEver(key);
            var number = int.Parse(version, CultureInfo.InvariantCulture);
            if (number > highest)
            {
                Directory.CreateDirectory(FunctionFolder(key));
                await File.WriteAllTextAsync(Path.Combine(FunctionFolder(key), "highest"), version, cancellationToken).ConfigureAwait(false);
            }

            var dir = Path.Combine(FunctionFolder(key), "versions", version);
            if (Directory.Exists(dir))
            {
                var doomed = dir + ".deleted";
                Directory.Move(dir, doomed); // out of Load's sight at once; then removed
                Directory.Delete(doomed, recursive: true);
            }
        }

        await base.DeleteVersionAsync(key, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Highest number handed out for the function by earlier runs (0 when none): the next continues after it.</summary>
    protected override int HighestEver(FunctionKey key) =>
        File.Exists(Path.Combine(FunctionFolder(key), "highest")) &&
        int.TryParse(File.ReadAllText(Path.Combine(FunctionFolder(key), "highest")).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    /// <summary>SHA-256 (base64, as Lambda's CodeSha256) over the folder's relative paths and contents, in order.</summary>
    public static string FolderDigest(string folder)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(MaxCodeFiles))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(folder, file).Replace('\\', '/') + "\0"));
            hash.AppendData(File.ReadAllBytes(file));
        }

        return Convert.ToBase64String(hash.GetHashAndReset());
    }

    private string FunctionFolder(FunctionKey key) => Path.Combine(folder, key.Namespace, key.Name);

    private async Task WriteAliasesAsync(FunctionKey key, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(FunctionFolder(key));
        var aliases = Functions.AliasesOf(key).ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
        var temp = Path.Combine(FunctionFolder(key), "aliases.json.tmp");
        await File.WriteAllTextAsync(temp, JsonSerializer.Serialize(aliases, Json), cancellationToken).ConfigureAwait(false);
        File.Move(temp, Path.Combine(FunctionFolder(key), "aliases.json"), overwrite: true);
    }

    private Dictionary<string, AliasRoute> ReadAliases(FunctionKey key)
    {
        var file = Path.Combine(FunctionFolder(key), "aliases.json");
        try
        {
            return File.Exists(file) ? JsonSerializer.Deserialize<Dictionary<string, AliasRoute>>(File.ReadAllText(file), Json) ?? [] : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static PublishedVersion? ReadVersion(string dir)
    {
        try
        {
            var file = Path.Combine(dir, "version.json");
            return File.Exists(file) && Directory.Exists(Path.Combine(dir, "code")) ? JsonSerializer.Deserialize<PublishedVersion>(File.ReadAllText(file), Json) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool FunctionVersionsOk(string version) => FnOperator.Contracts.FunctionVersions.IsPublished(version);

    private static void CopyFolder(string from, string to)
    {
        var temp = to + ".tmp";
        if (Directory.Exists(temp))
        {
            Directory.Delete(temp, recursive: true);
        }

        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories).Take(MaxCodeFiles))
        {
            var target = Path.Combine(temp, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        Directory.CreateDirectory(temp);
        Directory.Move(temp, to);
    }
}
