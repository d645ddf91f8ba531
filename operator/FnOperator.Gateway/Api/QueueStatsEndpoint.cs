using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Api;

/// <summary>
/// <c>GET /_fnop/v1/stats</c>: the autoscaler's inputs per function version (depth, in flight, waiting sync callers).
/// With JetStream, depth and in flight are the cluster's; waiting sync callers are this replica's (sum over replicas).
/// busyInstances: the instances (pods) holding a lease of the version, as they named themselves on their pull
/// requests (<see cref="InstanceLeases"/>; this replica's leases). handOuts: the invocations of the version this replica
/// handed out so far (only grows; the autoscaler counts a change between two polls as busy). Protected like the
/// queue-inspection endpoints.
/// <c>queue</c> names the queue the counters come from, so the autoscaler, which reads every replica, counts a shared
/// queue's depth and in flight once and sums per-replica queues: <c>jetstream:&lt;stream&gt;</c> (shared by every
/// replica on that stream) or <c>memory:&lt;id&gt;</c> (this process's in-memory queue, its own).
/// </summary>
public static class QueueStatsEndpoint
{
    public const string Path = FnOperator.Contracts.PullProtocol.Prefix + "/stats";

    /// <summary>An id per in-memory queue (several gateways in one process each have their own).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IInvocationQueue, string> MemoryQueueIds = new();

    /// <summary>What <c>queue</c> says for this gateway's queue: shared JetStream streams have the same id on every replica.</summary>
    public static string QueueId(IInvocationQueue queue, GatewayOptions options) =>
        options.JetStream is { } jetStream && queue is Queue.JetStream.JetStreamInvocationQueue
            ? "jetstream:" + jetStream.Stream
            : "memory:" + MemoryQueueIds.GetValue(queue, _ => Guid.NewGuid().ToString("N"));

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet(Path, (FunctionRegistry functions, IInvocationQueue queue, InstanceLeases instances, GatewayOptions options) =>
        {
            var busy = instances.Busy();
            var counted = instances.CountedVersions();
            return Results.Json(new
            {
                queue = QueueId(queue, options),
                versions = functions.All.SelectMany(f => Versions(queue, counted[f.Key], f.Key).Select(v => new
                {
                    @namespace = f.Key.Namespace,
                    name = f.Key.Name,
                    version = v.Key,
                    depth = v.Value.Depth,
                    inFlight = v.Value.InFlight,
                    waitingSync = v.Value.WaitingSync,
                    busyInstances = busy.TryGetValue((f.Key, v.Key), out var names) ? names : [],
                    handOuts = instances.HandOuts(f.Key, v.Key),
                })).ToList(),
            });
        });

    /// <summary>The queue's versions of the function, and those with hand-outs counted here (an idle queue may not list them).</summary>
    private static Dictionary<string, QueueStats> Versions(IInvocationQueue queue, IEnumerable<string> counted, FunctionKey key)
    {
        var versions = new Dictionary<string, QueueStats>(queue.GetVersionStats(key), StringComparer.Ordinal);
        foreach (var version in counted)
        {
            versions.TryAdd(version, new QueueStats(0, 0, 0));
        }

        return versions;
    }
}
