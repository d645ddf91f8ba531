using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using FnOperator.Contracts;

namespace FnOperator.Operator.Autoscaling;

/// <summary>
/// Reads <c>GET {gateway}/_fnop/v1/stats</c> of one gateway address with <c>Authorization: Bearer</c> + the inspection
/// credential derived from the cluster key (as serve mode requires). Every replica is read and combined by
/// <see cref="GatewayReplicaStatsSource"/>; this one alone gives one replica's view.
/// </summary>
public sealed class GatewayStatsSource(HttpClient http, Uri gateway, byte[]? clusterKey) : IScalingInputSource
{
    /// <summary>Busy instances kept per version (a version has at most maxReplicas pods).</summary>
    public const int MaxBusyPerVersion = 10_000;

    public async Task<IReadOnlyDictionary<VersionKey, VersionLoad>> ReadAsync(CancellationToken cancellationToken) =>
        (await ReadReplicaAsync(cancellationToken).ConfigureAwait(false)).Loads;

    /// <summary>The replica's loads and the id of the queue they come from (<c>queue</c>; null from a gateway that does not say).</summary>
    public async Task<ReplicaStats> ReadReplicaAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, PullProtocol.Prefix + "/stats"));
        if (clusterKey is { Length: > 0 })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PullProtocol.InspectionCredential(clusterKey));
        }

        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<StatsBody>(cancellationToken).ConfigureAwait(false);
        var result = new Dictionary<VersionKey, VersionLoad>();
        foreach (var v in body?.Versions ?? [])
        {
            if (v is { Namespace: { } ns, Name: { } name, Version: { } version })
            {
                result[new VersionKey(ns, name, version)] = new VersionLoad(v.Depth, v.InFlight, v.WaitingSync, v.BusyInstances?.Where(b => !string.IsNullOrEmpty(b)).Take(MaxBusyPerVersion).ToList(), v.HandOuts);
            }
        }

        return new ReplicaStats(body?.Queue, result);
    }

    private sealed record StatsBody(
        [property: JsonPropertyName("queue")] string? Queue,
        [property: JsonPropertyName("versions")] List<StatsVersion>? Versions);

    private sealed record StatsVersion(
        [property: JsonPropertyName("namespace")] string? Namespace,
        [property: JsonPropertyName("name")] string? Name,
        [property: JsonPropertyName("version")] string? Version,
        [property: JsonPropertyName("depth")] int Depth,
        [property: JsonPropertyName("inFlight")] int InFlight,
        [property: JsonPropertyName("waitingSync")] int WaitingSync,
        [property: JsonPropertyName("busyInstances")] List<string>? BusyInstances,
        [property: JsonPropertyName("handOuts")] long? HandOuts = null);
}

/// <summary>One gateway replica's stats: the queue its depth and in flight come from, and the loads per version.</summary>
public sealed record ReplicaStats(string? QueueId, IReadOnlyDictionary<VersionKey, VersionLoad> Loads);
