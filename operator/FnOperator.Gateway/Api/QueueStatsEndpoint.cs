using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Api;

/// <summary>
/// <c>GET /_fnop/v1/stats</c>: the autoscaler's inputs per function version (depth, in flight, waiting sync callers).
/// With JetStream, depth and in flight are the cluster's; waiting sync callers are this replica's (sum over replicas).
/// busyInstances: the instances (pods) holding a lease of the version, as they named themselves on their pull
/// requests (<see cref="InstanceLeases"/>; this replica's leases). Protected like the queue-inspection endpoints.
/// </summary>
public static class QueueStatsEndpoint
{
    public const string Path = FnOperator.Contracts.PullProtocol.Prefix + "/stats";

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet(Path, (FunctionRegistry functions, IInvocationQueue queue, InstanceLeases instances) =>
        {
            var busy = instances.Busy();
            return Results.Json(new
            {
                versions = functions.All.SelectMany(f => queue.GetVersionStats(f.Key).Select(v => new
                {
                    @namespace = f.Key.Namespace,
                    name = f.Key.Name,
                    version = v.Key,
                    depth = v.Value.Depth,
                    inFlight = v.Value.InFlight,
                    waitingSync = v.Value.WaitingSync,
                    busyInstances = busy.TryGetValue((f.Key, v.Key), out var names) ? names : [],
                })).ToList(),
            });
        });
}
