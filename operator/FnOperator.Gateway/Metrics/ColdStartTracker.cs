using System.Collections.Concurrent;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Metrics;

/// <summary>
/// Cold start as the caller sees it, per function version: an invocation enqueued while the version had no instance
/// (no worker polling, none holding a lease, none that polled or answered a lease within <see cref="Grace"/>) waits for the first instance to pull it;
/// that wait (enqueue at zero → invocation started) goes into <c>fnop_gateway_cold_start_wait_seconds</c> and
/// <c>fnop_gateway_cold_start_invocations_total</c>, and into a log line (local mode prints it). First attempts only
/// (an async retry's accepted time is the original one). With several gateway replicas each sees the workers
/// polling it. Bounded: at most <see cref="MaxVersions"/> versions tracked (valid versions only: polls are
/// authorized first).
/// </summary>
public sealed partial class ColdStartTracker(IInvocationQueue queue, GatewayMetrics metrics, TimeProvider time, ILogger<ColdStartTracker> logger)
{
    public const int MaxVersions = 100_000;

    /// <summary>A worker that polled this recently is still there (between two polls).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<(FunctionKey, string), Presence> versions = new();

    private sealed class Presence
    {
        public int Active;
        public DateTimeOffset LastPollEnd = DateTimeOffset.MinValue;
        public DateTimeOffset WarmSince = DateTimeOffset.MinValue;
    }

    private Presence? Get(FunctionKey key, string version) =>
        versions.TryGetValue((key, version), out var p) ? p
        : versions.Count >= MaxVersions ? null
        : versions.GetOrAdd((key, version), _ => new Presence());

    /// <summary>A worker starts a long poll of the version; the first after a time with no instance starts a warm period.</summary>
    public void PollStarted(FunctionKey key, string version)
    {
        if (Get(key, version) is not { } p)
        {
            return;
        }

        var now = time.GetUtcNow();
        lock (p)
        {
            if (p.Active == 0 && now - p.LastPollEnd > Grace
                && !(queue.GetVersionStats(key).TryGetValue(version, out var stats) && stats.InFlight > 0))
            {
                p.WarmSince = now;
            }

            p.Active++;
        }
    }

    public void PollEnded(FunctionKey key, string version)
    {
        if (Get(key, version) is not { } p)
        {
            return;
        }

        lock (p)
        {
            p.Active = Math.Max(0, p.Active - 1);
            p.LastPollEnd = time.GetUtcNow();
        }
    }

    /// <summary>A worker answered a lease of the version (result or release): it is there, about to poll again.</summary>
    public void Active(FnOperator.Gateway.Api.InstanceLeases.Lease? lease)
    {
        if (lease is null || Get(lease.Key, lease.Version) is not { } p)
        {
            return;
        }

        lock (p)
        {
            p.LastPollEnd = time.GetUtcNow();
        }
    }

    /// <summary>An invocation handed to a worker: a cold start when it was accepted before the version's first instance of this warm period arrived.</summary>
    public void Started(Invocation invocation)
    {
        var key = new FunctionKey(invocation.Namespace, invocation.FunctionName);
        if (invocation.Attempt != 1 || Get(key, invocation.Version) is not { } p)
        {
            return;
        }

        DateTimeOffset warmSince;
        lock (p)
        {
            warmSince = p.WarmSince;
        }

        if (invocation.AcceptedAt < warmSince)
        {
            var waited = time.GetUtcNow() - invocation.AcceptedAt;
            metrics.ColdStart(key, invocation.Version, waited);
            LogColdStart(logger, key.Name, invocation.Version, waited.TotalMilliseconds, invocation.RequestId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Cold start function={Function} version={Version} waitedMs={WaitedMs:0} (enqueued at zero → started) requestId={RequestId}")]
    private static partial void LogColdStart(ILogger logger, string function, string version, double waitedMs, string requestId);
}
