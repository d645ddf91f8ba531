using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using FnOperator.Operator.Autoscaling;

namespace FnOperator.Operator.Tests.Autoscaling;

/// <summary>
/// The gateway's stats and push stream as the autoscaler reads them: per version depth, in flight and waiting sync
/// callers and the hand-out count, set by the test; pushes of "work at zero" sent by the test; reads can be made to fail (gateway unreachable).
/// </summary>
public sealed class FakeGatewayStats : IScalingInputSource, IWorkEventSource
{
    private readonly ConcurrentDictionary<VersionKey, VersionLoad> loads = new();
    private readonly Channel<VersionKey> pushes = Channel.CreateUnbounded<VersionKey>();

    public int Reads;

    public int StreamsOpened;

    /// <summary>While true, reading the stats fails as an unreachable gateway does.</summary>
    public volatile bool Unreachable;

    public void Set(string function, int depth, int inFlight = 0, int waitingSync = 0, string ns = "default", IReadOnlyList<string>? busy = null, string version = "$LATEST") =>
        loads[new VersionKey(ns, function, version)] = new VersionLoad(depth, inFlight, waitingSync, busy);

    /// <summary>One invocation handed out and finished between two reads: the version's hand-out count grows, nothing else changes.</summary>
    public void HandOut(string function, string ns = "default", string version = "$LATEST") =>
        loads.AddOrUpdate(new VersionKey(ns, function, version), _ => new VersionLoad(0, 0, 0, HandOuts: 1), (_, l) => l with { HandOuts = (l.HandOuts ?? 0) + 1 });

    public void Push(string function, string ns = "default", string version = "$LATEST") => pushes.Writer.TryWrite(new VersionKey(ns, function, version));

    public Task<IReadOnlyDictionary<VersionKey, VersionLoad>> ReadAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Reads);
        return Unreachable
            ? Task.FromException<IReadOnlyDictionary<VersionKey, VersionLoad>>(new HttpRequestException("connection refused (fake)"))
            : Task.FromResult<IReadOnlyDictionary<VersionKey, VersionLoad>>(new Dictionary<VersionKey, VersionLoad>(loads));
    }

    async IAsyncEnumerable<VersionKey> IWorkEventSource.ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref StreamsOpened);
        while (await pushes.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (pushes.Reader.TryRead(out var key))
            {
                yield return key;
            }
        }
    }
}
