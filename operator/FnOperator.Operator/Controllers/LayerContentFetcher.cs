using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using FnOperator.Contracts;
using FnOperator.Operator.Runtime;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Downloads a Layer's url content once, when its sha256 is not published yet: the body is read into a temporary file
/// while it is hashed and counted, and the read stops past <see cref="LayerLimits.MaxZippedBytes"/>; the archive's
/// declared entry sizes give its unzipped size. A checksum that does not match never becomes a version. The same
/// download measures a function's own url code (<see cref="MeasureAsync"/>) for the 250 MB limit of code plus layers.
/// </summary>
public sealed class LayerContentFetcher(HttpClient http)
{
    public async Task<(LayerContentResult? Content, Problem? Problem)> FetchAsync(string url, string sha256, CancellationToken cancellationToken)
    {
        var download = await DownloadAsync(url, LayerLimits.MaxZippedBytes, cancellationToken).ConfigureAwait(false);
        try
        {
            if (download.Failure is { } failure)
            {
                return (null, NotFound(failure));
            }

            if (download.TooLarge)
            {
                return (null, TooLarge(LayerLimits.Zipped(url, download.DeclaredSize)));
            }

            if (!string.Equals(download.Sha256, sha256, StringComparison.Ordinal))
            {
                return (null, Problem.Terminal(LayerConditions.ContentReady, LayerReasons.ChecksumMismatch,
                    $"The archive at {url} has SHA-256 {download.Sha256}, not the {sha256} spec.content.sha256 names; no version was published."));
            }

            if (UnzippedSize(download.Path) is not long unzipped)
            {
                return (null, Problem.Terminal(LayerConditions.ContentReady, LayerReasons.InvalidContent, $"The archive at {url} is not a valid .zip file."));
            }

            return unzipped > LayerLimits.MaxUnzippedBytes
                ? (null, TooLarge(LayerLimits.Unzipped(url, unzipped)))
                : (new LayerContentResult(download.Sha256!, download.Size, unzipped) { Url = url }, null);
        }
        finally
        {
            File.Delete(download.Path);
        }
    }

    /// <summary>
    /// A function's url code, downloaded (at most <paramref name="maxBytes"/>) and measured: its unzipped size, or why
    /// it is unknown. A checksum that differs from <paramref name="sha256"/> is reported, not measured.
    /// </summary>
    public async Task<CodeMeasurement> MeasureAsync(string url, string sha256, long maxBytes, CancellationToken cancellationToken)
    {
        var download = await DownloadAsync(url, maxBytes, cancellationToken).ConfigureAwait(false);
        try
        {
            return download switch
            {
                { Failure: { } failure } => new CodeMeasurement(null, failure, null),
                { TooLarge: true } => new CodeMeasurement(null, $"the archive at {url} is larger than {maxBytes} bytes", null),
                _ when !string.Equals(download.Sha256, sha256, StringComparison.Ordinal) => new CodeMeasurement(null, null, download.Sha256),
                _ => UnzippedSize(download.Path) is long unzipped
                    ? new CodeMeasurement(unzipped, null, null)
                    : new CodeMeasurement(null, $"the archive at {url} is not a valid .zip file", null),
            };
        }
        finally
        {
            File.Delete(download.Path);
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

    private async Task<Download> DownloadAsync(string url, long maxBytes, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), "fnop-layer-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return new Download(path) { Failure = $"GET {url} answered {(int)response.StatusCode} {response.ReasonPhrase}." };
            }

            if (response.Content.Headers.ContentLength is long declared && declared > maxBytes)
            {
                return new Download(path) { TooLarge = true, DeclaredSize = declared };
            }

            long size = 0;
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                size += read;
                if (size > maxBytes)
                {
                    return new Download(path) { TooLarge = true };
                }

                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            return new Download(path) { Size = size, Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset()) };
        }
        catch (HttpRequestException e)
        {
            return new Download(path) { Failure = $"GET {url} failed: {e.Message}" };
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Download(path) { Failure = $"GET {url} timed out." };
        }
        catch (IOException e)
        {
            return new Download(path) { Failure = $"GET {url} could not be stored: {e.Message}" };
        }
    }

    private static Problem NotFound(string message) => Problem.AfterDependency(LayerConditions.ContentReady, LayerReasons.ContentNotFound, message);

    private static Problem TooLarge(string message) => Problem.Terminal(LayerConditions.ContentReady, LayerReasons.TooLarge, message);

    private sealed record Download(string Path)
    {
        public string? Failure { get; init; }

        public bool TooLarge { get; init; }

        public long? DeclaredSize { get; init; }

        public long Size { get; init; }

        public string? Sha256 { get; init; }
    }
}

/// <summary>What measuring a function's url code found: the unzipped size, or why it is unknown, or a different checksum.</summary>
public sealed record CodeMeasurement(long? UnzippedBytes, string? Unknown, string? MismatchedSha256);
