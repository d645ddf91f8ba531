namespace FnOperator.Operator.Autoscaling;

/// <summary>
/// The loads of every gateway replica combined (<see cref="Combine"/>). <see cref="UnreadReplicas"/> counts listed
/// replicas that did not answer this read and are still within <see cref="AutoscalerOptions.ReplicaFailureGrace"/>:
/// their callers and busy pods are missing from the sums, so the autoscaler scales up on these loads but does not
/// scale in.
/// </summary>
public sealed class CombinedLoads : Dictionary<VersionKey, VersionLoad>
{
    public int Replicas { get; init; }

    public int UnreadReplicas { get; init; }
}

/// <summary>
/// Reads every gateway replica's stats (<see cref="IGatewayReplicas"/>) at once and combines them into the cluster's:
/// waiting sync callers are each replica's own (summed); depth and in flight are the queue's, so they are counted once
/// per queue (replicas on one JetStream stream report the same counters: the largest is taken, snapshots lag a little)
/// and summed over different queues (in-memory queues, one per replica); busy instances are the union (a pod holds its
/// leases at one replica, the one it pulls from). Fails only when no replica could be read (then nothing changes).
/// A replica failing longer than <see cref="AutoscalerOptions.ReplicaFailureGrace"/> is left out until it answers.
/// </summary>
public sealed partial class GatewayReplicaStatsSource(
    IGatewayReplicas replicas, Func<Uri, GatewayStatsSource> sourceFor, AutoscalerOptions options, TimeProvider time,
    Microsoft.Extensions.Logging.ILogger<GatewayReplicaStatsSource> logger) : IScalingInputSource
{
    private readonly Dictionary<Uri, DateTimeOffset> failingSince = [];
    private readonly Dictionary<Uri, GatewayStatsSource> sources = [];

    public async Task<IReadOnlyDictionary<VersionKey, VersionLoad>> ReadAsync(CancellationToken cancellationToken)
    {
        var addresses = replicas.Current();
        var reads = addresses.Select(a => Source(a).ReadReplicaAsync(cancellationToken)).ToList();
        try
        {
            await Task.WhenAll(reads).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Each read is looked at below.
        }

        cancellationToken.ThrowIfCancellationRequested();
        var now = time.GetUtcNow();
        var answered = new List<ReplicaStats>();
        var unread = 0;
        Exception? firstError = null;
        var failed = new List<(string Replica, string Error, bool WithinGrace, int Seconds)>();
        lock (failingSince)
        {
            for (var i = 0; i < addresses.Count; i++)
            {
                if (reads[i].IsCompletedSuccessfully)
                {
                    answered.Add(reads[i].Result);
                    failingSince.Remove(addresses[i]);
                    continue;
                }

                // Canceled while our token is not: the client's timeout.
                var error = reads[i].Exception?.GetBaseException() ?? new TaskCanceledException("stats read timed out");
                firstError ??= error;
                if (!failingSince.TryGetValue(addresses[i], out var since))
                {
                    failingSince[addresses[i]] = since = now;
                }

                var within = now - since < options.ReplicaFailureGrace;
                unread += within ? 1 : 0;
                failed.Add((addresses[i].ToString(), error.Message, within, (int)(now - since).TotalSeconds));
            }

            foreach (var gone in failingSince.Keys.Except(addresses).ToList())
            {
                failingSince.Remove(gone);
            }
        }

        // Logged only when the read succeeds in part (when none answers the caller logs the failure).
        foreach (var (replica, error, within, seconds) in answered.Count > 0 ? failed : [])
        {
            if (within)
            {
                LogReplicaUnread(replica, error);
            }
            else
            {
                LogReplicaLeftOut(replica, error, seconds);
            }
        }

        if (answered.Count == 0)
        {
            throw firstError is HttpRequestException or TaskCanceledException or IOException or System.Text.Json.JsonException
                ? firstError
                : new HttpRequestException("no gateway replica could be read: " + firstError?.Message, firstError);
        }

        return Combine(answered, addresses.Count, unread);
    }

    /// <summary>The cluster's loads from each replica's (see the class summary for the rules).</summary>
    public static CombinedLoads Combine(IReadOnlyList<ReplicaStats> replicaStats, int replicas, int unread)
    {
        var keys = replicaStats.SelectMany(r => r.Loads.Keys).ToHashSet();
        var combined = new CombinedLoads { Replicas = replicas, UnreadReplicas = unread };
        foreach (var key in keys)
        {
            var depth = 0;
            var inFlight = 0;
            var waiting = 0;
            long? handOuts = null;
            var busy = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var queue in replicaStats.GroupBy(r => r.QueueId ?? "", StringComparer.Ordinal))
            {
                var loads = queue.Select(r => r.Loads.TryGetValue(key, out var l) ? l : default).ToList();
                depth += loads.Max(l => l.Depth);
                inFlight += loads.Max(l => l.InFlight);
                waiting += loads.Sum(l => l.WaitingSync);

                // Each replica counts what it handed out itself, whatever queue it serves: summed.
                foreach (var l in loads)
                {
                    handOuts = l.HandOuts is { } h ? (handOuts ?? 0) + h : handOuts;
                }

                foreach (var name in loads.SelectMany(l => l.Busy ?? []))
                {
                    if (busy.Count < GatewayStatsSource.MaxBusyPerVersion)
                    {
                        busy.Add(name);
                    }
                }
            }

            combined[key] = new VersionLoad(depth, inFlight, waiting, [.. busy], handOuts);
        }

        return combined;
    }

    private GatewayStatsSource Source(Uri address)
    {
        lock (sources)
        {
            if (!sources.TryGetValue(address, out var source))
            {
                if (sources.Count >= 4 * options.MaxGatewayReplicas)
                {
                    sources.Clear(); // replicas came and went many times: start over (a source is only an address and a client)
                }

                sources[address] = source = sourceFor(address);
            }

            return source;
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Gateway replica stats unread, holding scale-ins until it answers or its grace ends replica={Replica} error={Error}")]
    private partial void LogReplicaUnread(string replica, string error);

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Gateway replica left out (failing past its grace) replica={Replica} error={Error} failingSeconds={Seconds}")]
    private partial void LogReplicaLeftOut(string replica, string error, int seconds);
}
