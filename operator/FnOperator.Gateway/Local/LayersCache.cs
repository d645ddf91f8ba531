using System.IO.Compression;
using System.Security.Cryptography;
using FnOperator.Contracts;

namespace FnOperator.Gateway.Local;

/// <summary>
/// url + sha256 layer content for local mode: downloaded once (bounded to <see cref="LayerLimits.MaxZippedBytes"/> while
/// reading), verified, and extracted into <c>&lt;cache&gt;/&lt;sha256&gt;/</c>, which later runs reuse. A checksum that does
/// not match is never extracted. The cache keeps at most <see cref="MaxEntries"/> archives (least recently used go).
/// </summary>
public sealed class LayersCache(string directory, HttpClient http)
{
    public const int MaxEntries = 20;

    /// <summary>~/.cache/fnoperator/layers (or $XDG_CACHE_HOME/fnoperator/layers).</summary>
    public static string DefaultDirectory =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "fnoperator", "layers");

    /// <returns>The folder holding the extracted archive.</returns>
    public async Task<string> GetAsync(string url, string sha256, CancellationToken cancellationToken)
    {
        var target = Path.Combine(directory, sha256);
        if (Directory.Exists(target))
        {
            Directory.SetLastWriteTimeUtc(target, DateTime.UtcNow);
            return target;
        }

        Directory.CreateDirectory(directory);
        var archive = Path.Combine(directory, $".{sha256}.{Guid.NewGuid():N}.zip");
        try
        {
            await DownloadAsync(url, sha256, archive, cancellationToken).ConfigureAwait(false);
            using (var zip = ZipFile.OpenRead(archive))
            {
                var unzipped = zip.Entries.Sum(e => e.Length);
                if (unzipped > LayerLimits.MaxUnzippedBytes)
                {
                    throw new LayerContentException(LayerLimits.Unzipped(url, unzipped));
                }
            }

            var staging = target + ".partial-" + Guid.NewGuid().ToString("N");
            ZipFile.ExtractToDirectory(archive, staging); // refuses entries outside the folder; keeps Unix mode bits
            Directory.Move(staging, target);
            Trim();
            return target;
        }
        catch (InvalidDataException)
        {
            throw new LayerContentException($"{url} is not a valid .zip archive");
        }
        finally
        {
            File.Delete(archive);
        }
    }

    private async Task DownloadAsync(string url, string sha256, string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new LayerContentException($"GET {url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var file = File.Create(path);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            long size = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                size += read;
                if (size > LayerLimits.MaxZippedBytes)
                {
                    throw new LayerContentException(LayerLimits.Zipped(url, null));
                }

                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != sha256)
            {
                throw new LayerContentException($"the archive at {url} has SHA-256 {actual}, not {sha256}; not used");
            }
        }
        catch (HttpRequestException e)
        {
            throw new LayerContentException($"GET {url} failed: {e.Message}");
        }
    }

    private void Trim()
    {
        var entries = new DirectoryInfo(directory).GetDirectories().Where(d => !d.Name.Contains('.', StringComparison.Ordinal))
            .OrderByDescending(d => d.LastWriteTimeUtc).Skip(MaxEntries);
        foreach (var old in entries)
        {
            LayersStore.TryDelete(old.FullName);
        }
    }
}
