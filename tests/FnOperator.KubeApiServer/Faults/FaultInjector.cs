namespace FnOperator.KubeApiServer;

/// <summary>
/// Deterministic fault injection: a share of updates answered 409 Conflict (seeded random), watch connections
/// dropped now or periodically, and watch events of a resource delivered late (a lagging watch cache or network). Restarts are on the server (<see cref="KubeApiTestServer.RestartAsync"/>).
/// </summary>
public sealed class FaultInjector(int seed)
{
    private readonly Lock gate = new();
    private readonly Random random = new(seed);
    private CancellationTokenSource watches = new();
    private Timer? periodicDrop;
    private readonly Dictionary<string, TimeSpan> watchLags = [];
    private int conflicts;
    private int droppedWatches;

    /// <summary>Share of updates (PUT, PATCH, status and scale writes) answered 409 Conflict, 0..1.</summary>
    public double ConflictRate { get; set; }

    /// <summary>How many conflicts were injected.</summary>
    public int InjectedConflicts => Volatile.Read(ref conflicts);

    /// <summary>How many times watches were dropped.</summary>
    public int WatchDrops => Volatile.Read(ref droppedWatches);

    /// <summary>Cancelled when watches are dropped; each watch links to the token current when it started.</summary>
    public CancellationToken WatchToken
    {
        get { lock (gate) { return watches.Token; } }
    }

    /// <summary>Whether this update should fail with an injected conflict (deterministic for a seed and call order).</summary>
    public bool NextUpdateConflicts()
    {
        lock (gate)
        {
            if (ConflictRate <= 0 || random.NextDouble() >= ConflictRate)
            {
                return false;
            }

            conflicts++;
            return true;
        }
    }

    /// <summary>Cuts every open watch connection, as a flaky network or a load balancer does.</summary>
    public void DropWatches()
    {
        CancellationTokenSource old;
        lock (gate)
        {
            old = watches;
            watches = new CancellationTokenSource();
            droppedWatches++;
        }

        old.Cancel();
        old.Dispose();
    }

    /// <summary>
    /// Delays every watch event of <paramref name="resource"/> (a storage key, "group/plural" with "core" for the core
    /// group, e.g. "fnoperator.io/functions"; "*" for every resource without a lag of its own) by <paramref name="lag"/>
    /// after the change, in order; null or zero
    /// delivers them at once again. Reads (GET, LIST) are never delayed, so a client's cache lags behind the server as
    /// it can behind a real one.
    /// </summary>
    public void SetWatchLag(string resource, TimeSpan? lag)
    {
        lock (gate)
        {
            if (lag is { } l && l > TimeSpan.Zero)
            {
                watchLags[resource] = l;
            }
            else
            {
                watchLags.Remove(resource);
            }
        }
    }

    /// <summary>How late watch events of <paramref name="resource"/> are delivered (zero: at once).</summary>
    public TimeSpan WatchLag(string resource)
    {
        lock (gate)
        {
            return watchLags.TryGetValue(resource, out var lag) || watchLags.TryGetValue("*", out lag) ? lag : TimeSpan.Zero;
        }
    }

    /// <summary>Drops all watches every <paramref name="interval"/>; null stops it.</summary>
    public void DropWatchesEvery(TimeSpan? interval)
    {
        lock (gate)
        {
            periodicDrop?.Dispose();
            periodicDrop = interval is { } every ? new Timer(_ => DropWatches(), null, every, every) : null;
        }
    }
}
