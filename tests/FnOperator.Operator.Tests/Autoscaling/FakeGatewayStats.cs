using System.Collections.Concurrent;
using FnOperator.Operator.Autoscaling;

namespace FnOperator.Operator.Tests.Autoscaling;

/// <summary>The gateway's stats as the autoscaler reads them: per version depth, in flight and waiting sync callers, set by the test.</summary>
public sealed class FakeGatewayStats : IScalingInputSource
{
    private readonly ConcurrentDictionary<VersionKey, VersionLoad> loads = new();

    public int Reads;

    public void Set(string function, int depth, int inFlight = 0, int waitingSync = 0, string ns = "default") =>
        loads[new VersionKey(ns, function, "$LATEST")] = new VersionLoad(depth, inFlight, waitingSync);

    public Task<IReadOnlyDictionary<VersionKey, VersionLoad>> ReadAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Reads);
        return Task.FromResult<IReadOnlyDictionary<VersionKey, VersionLoad>>(new Dictionary<VersionKey, VersionLoad>(loads));
    }
}
