using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using FnOperator.Contracts;
using FnOperator.Operator.Runtime;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Downloads a Layer's url content once, when its sha256 is not published yet: the body is read into a temporary file
/// while it is hashed and counted, and the read stops past <see cref="LayerLimits.MaxZippedBytes"/>; the archive's
/// declared entry sizes give its unzipped size. A checksum that does not match never becomes a version.
/// </summary>
public sealed class LayerContentFetcher(HttpClient http)
{
    public async Task<(LayerContentResult? Content, Problem? Problem)> FetchAsync(string url, string sha256, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), "fnop-layer-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return (null, NotFound($"GET {url} answered {(int)response.StatusCode} {response.ReasonPhrase}."));
            }

            if (response.Content.Headers.ContentLength is long declared && declared > LayerLimits.MaxZippedBytes)
            {
                return (null, TooLarge(LayerLimits.Zipped(url, declared)));
            }

            long size = 0;
            string actual;
            await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[81920];
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    size += read;
                    if (size > LayerLimits.MaxZippedBytes)
                    {
                        return (null, TooLarge(LayerLimits.Zipped(url, null)));
                    }

                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }

                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            if (!string.Equals(actual, sha256, StringComparison.Ordinal))
            {
                return (null, Problem.Terminal(LayerConditions.ContentReady, LayerReasons.ChecksumMismatch,
                    $"The archive at {url} has SHA-256 {actual}, not the {sha256} spec.content.sha256 names; no version was published."));
            }

            if (UnzippedSize(path) is not long unzipped)
            {
                return (null, Problem.Terminal(LayerConditions.ContentReady, LayerReasons.InvalidContent, $"The archive at {url} is not a valid .zip file."));
            }

            return unzipped > LayerLimits.MaxUnzippedBytes
                ? (null, TooLarge(LayerLimits.Unzipped(url, unzipped)))
                : (new LayerContentResult(actual, size, unzipped) { Url = url }, null);
        }
        catch (HttpRequestException e)
        {
            return (null, NotFound($"GET {url} failed: {e.Message}"));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, NotFound($"GET {url} timed out."));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The sum of the entries' declared sizes, or null when the file is not a zip archive.</summary>
    public static long? UnzippedSize(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return zip.Entries.Sum(e => e.Length);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    private static Problem NotFound(string message) => Problem.AfterDependency(LayerConditions.ContentReady, LayerReasons.ContentNotFound, message);

    private static Problem TooLarge(string message) => Problem.Terminal(LayerConditions.ContentReady, LayerReasons.TooLarge, message);
}
