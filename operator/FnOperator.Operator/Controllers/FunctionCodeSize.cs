using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using FnOperator.Contracts;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// The unzipped size of a function's own code, for Lambda's 250 MB limit of code plus layers (measured only when the
/// function has layers: <see cref="LayerResolver"/>). url code is downloaded once per sha256 (at most
/// <see cref="LayerLimits.MaxZippedBytes"/>, the operator's download cap, within <see cref="Timeout"/>) and its archive's
/// entry sizes summed; configMap code is the bytes of its data; image code cannot be measured (its files are whatever
/// the image holds). Results are cached per sha256 (known sizes for good, "unknown" for <see cref="UnknownFor"/>, at
/// most <see cref="MaxCached"/> entries), so a reconcile downloads nothing it has measured before.
/// </summary>
public sealed class FunctionCodeSize(IKubernetes client, LayerContentFetcher fetcher, TimeProvider time)
{
    public const int MaxCached = 4096;
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan UnknownFor = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, (long? Bytes, string? Unknown, DateTimeOffset At)> urlSizes = new(StringComparer.Ordinal);

    /// <summary>The code's unzipped bytes, or why they are unknown, or the problem (a checksum that does not match).</summary>
    public async Task<(long? Bytes, string? Unknown, Problem? Problem)> MeasureAsync(FunctionState state, CancellationToken cancellationToken)
    {
        var code = state.Code;
        switch (code.Source)
        {
            case CodeSource.Url:
                return await MeasureUrlAsync(code.Url ?? "", code.Sha256, cancellationToken).ConfigureAwait(false);
            case CodeSource.ConfigMap:
                try
                {
                    var configMap = await client.CoreV1.ReadNamespacedConfigMapAsync(code.ConfigMapName, state.Function.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
                    long bytes = (configMap.Data ?? new Dictionary<string, string>()).Values.Sum(v => (long)Encoding.UTF8.GetByteCount(v))
                        + (configMap.BinaryData ?? new Dictionary<string, byte[]>()).Values.Sum(v => (long)v.Length);
                    return (bytes, null, null);
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
                {
                    return (null, $"ConfigMap {code.ConfigMapName} is gone", null);
                }

            default:
                return (null, "image code cannot be measured", null);
        }
    }

    private async Task<(long? Bytes, string? Unknown, Problem? Problem)> MeasureUrlAsync(string url, string sha256, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (urlSizes.TryGetValue(sha256, out var cached) && (cached.Bytes is not null || now - cached.At < UnknownFor))
        {
            return (cached.Bytes, cached.Unknown, null);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        CodeMeasurement measured;
        try
        {
            measured = await fetcher.MeasureAsync(url, sha256, LayerLimits.MaxZippedBytes, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            measured = new CodeMeasurement(null, $"GET {url} took longer than {Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s", null);
        }

        if (measured.MismatchedSha256 is { } actual)
        {
            return (null, null, Problem.Terminal(FunctionConditions.CodeReady, FunctionReasons.InvalidCode,
                $"The code at {url} has SHA-256 {actual}, not the {sha256} spec.code.sha256 names; pods would refuse it."));
        }

        if (urlSizes.Count >= MaxCached)
        {
            urlSizes.Clear();
        }

        urlSizes[sha256] = (measured.UnzippedBytes, measured.Unknown, now);
        return (measured.UnzippedBytes, measured.Unknown, null);
    }
}
