using System.Security.Cryptography;
using System.Text;
using FnOperator.Api;
using FnOperator.Contracts;

namespace FnOperator.Gateway.Local;

/// <summary>One published version of a local layer: an immutable copy of its files under the run's state folder.</summary>
public sealed record LocalLayerVersion(int Number, string Sha256, long Size, string Directory, IReadOnlyList<string> CompatibleRuntimes);

/// <summary>
/// Local mode's layer versions, as the operator publishes them in a cluster: version 1 at start, a new number when the
/// content changes (same content, no new version). Each version is a copy of the files (a path folder as it was, or a
/// url archive fetched once into <see cref="LayersCache"/>), so a function pinned to a version keeps it while the
/// folder is edited. Everything lives under the run's state folder, removed when local mode stops; each layer keeps at
/// most <see cref="Retention"/> versions besides the ones functions name.
/// </summary>
public sealed class LayersStore(string stateDirectory, LayersCache cache)
{
    public const int Retention = 10;
    private readonly Dictionary<(string Namespace, string Name), (LocalLayerManifest Manifest, List<LocalLayerVersion> Versions)> layers = [];
    private readonly Lock gate = new();

    public string StateDirectory => stateDirectory;

    public IEnumerable<LocalLayerManifest> Manifests { get { lock (gate) { return [.. layers.Values.Select(l => l.Manifest)]; } } }

    /// <summary>Publishes the layer's current content; returns the new version, or null when it equals the latest.</summary>
    /// <exception cref="LayerContentException">The content cannot be read, fetched or is past a limit.</exception>
    public async Task<LocalLayerVersion?> PublishAsync(LocalLayerManifest manifest, CancellationToken cancellationToken)
    {
        var key = (manifest.Namespace, manifest.Name);
        var source = manifest.Directory ?? await cache.GetAsync(manifest.Layer.Spec.Content.Url!, manifest.Layer.Spec.Content.Sha256!, cancellationToken).ConfigureAwait(false);
        var (sha, size) = HashFolder(source);
        var runtimes = manifest.Layer.Spec.CompatibleRuntimes ?? [];
        lock (gate)
        {
            if (layers.TryGetValue(key, out var known) && known.Versions.Count > 0 && known.Versions[^1].Sha256 == sha
                && known.Versions[^1].CompatibleRuntimes.SequenceEqual(runtimes, StringComparer.Ordinal))
            {
                return null;
            }

            var versions = known.Versions ?? [];
            var number = versions.Count > 0 ? versions[^1].Number + 1 : 1;
            var target = Path.Combine(stateDirectory, "layers", manifest.Namespace, manifest.Name, "v" + number);
            CopyFolder(source, target);
            var version = new LocalLayerVersion(number, sha, size, target, runtimes);
            versions.Add(version);
            layers[key] = (manifest, versions);
            return version;
        }
    }

    /// <summary>The named version, or the latest.</summary>
    public LocalLayerVersion? Find(string ns, string name, int? version)
    {
        lock (gate)
        {
            return layers.TryGetValue((ns, name), out var layer)
                ? version is int n ? layer.Versions.FirstOrDefault(v => v.Number == n) : layer.Versions.LastOrDefault()
                : null;
        }
    }

    /// <summary>Forgets the oldest versions past <see cref="Retention"/> that no function names (their copies are deleted).</summary>
    public void Prune(string ns, string name, IReadOnlySet<int> inUse)
    {
        lock (gate)
        {
            if (!layers.TryGetValue((ns, name), out var layer))
            {
                return;
            }

            var keep = layer.Versions.TakeLast(Retention).Select(v => v.Number).ToHashSet();
            foreach (var old in layer.Versions.Where(v => !keep.Contains(v.Number) && !inUse.Contains(v.Number)).ToList())
            {
                layer.Versions.Remove(old);
                TryDelete(old.Directory);
            }
        }
    }

    /// <summary>SHA-256 over the sorted relative paths and contents of the files (hidden files and runtime caches left out).</summary>
    public static (string Sha256, long Size) HashFolder(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new LayerContentException($"content folder {ManifestLoader.DisplayPath(folder)} does not exist");
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0;
        foreach (var file in Files(folder))
        {
            size += new FileInfo(file).Length;
            if (size > LayerLimits.MaxUnzippedBytes)
            {
                throw new LayerContentException(LayerLimits.Unzipped(ManifestLoader.DisplayPath(folder), size));
            }

            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(folder, file) + "\0"));
            using var stream = File.OpenRead(file);
            var buffer = new byte[81920];
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
        }

        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    /// <summary>Copies <paramref name="source"/> over <paramref name="target"/>: later copies replace files of earlier ones (Lambda's merge order).</summary>
    public static void CopyFolder(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Files(source))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to, overwrite: true); // keeps the mode bits (an executable bootstrap stays executable)
        }
    }

    public static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the state folder goes when local mode stops.
        }
    }

    private static IEnumerable<string> Files(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => !CodeWatcher.Ignored(Path.GetRelativePath(folder, f)))
            .Order(StringComparer.Ordinal);
}

/// <summary>A layer's content could not be published (missing folder, failed or mismatching download, past a limit).</summary>
public sealed class LayerContentException(string message) : Exception(message);
