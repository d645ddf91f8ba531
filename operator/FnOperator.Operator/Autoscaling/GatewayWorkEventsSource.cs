using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using FnOperator.Contracts;

namespace FnOperator.Operator.Autoscaling;

/// <summary>Where pushes of "work arrived for a version with nothing in flight" come from (the gateway's work-events stream).</summary>
public interface IWorkEventSource
{
    /// <summary>Versions as work arrives for them at zero, until the stream ends (returns) or fails (throws).</summary>
    IAsyncEnumerable<VersionKey> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Holds <c>GET {gateway}/_fnop/v1/work-events</c> open (server-sent events, <c>Authorization: Bearer</c> + the
/// inspection credential, as for the stats) and yields each pushed version. A line longer than
/// <see cref="MaxLineLength"/> ends the stream (the autoscaler reconnects). With several gateway replicas behind the
/// Service, one stream suffices: with JetStream every replica hears every enqueue at zero (<c>fnop.work.…</c>).
/// </summary>
public sealed class GatewayWorkEventsSource(HttpClient http, Uri gateway, byte[]? clusterKey) : IWorkEventSource
{
    public const int MaxLineLength = 4096;

    public async IAsyncEnumerable<VersionKey> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, PullProtocol.Prefix + "/work-events"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (clusterKey is { Length: > 0 })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PullProtocol.InspectionCredential(clusterKey));
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(body);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length > MaxLineLength)
            {
                throw new IOException($"work-events line longer than {MaxLineLength} characters");
            }

            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue; // comments (keep-alive), blank separators
            }

            WorkEventBody? e;
            try
            {
                e = JsonSerializer.Deserialize<WorkEventBody>(line.AsSpan(5).Trim());
            }
            catch (JsonException)
            {
                continue; // a malformed event is skipped; the poll still sees the work
            }

            if (e is { Namespace: { Length: > 0 } ns, Name: { Length: > 0 } name, Version: { Length: > 0 } version })
            {
                yield return new VersionKey(ns, name, version);
            }
        }
    }

    private sealed record WorkEventBody(
        [property: JsonPropertyName("namespace")] string? Namespace,
        [property: JsonPropertyName("name")] string? Name,
        [property: JsonPropertyName("version")] string? Version);
}
