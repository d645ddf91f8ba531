using FnOperator.Contracts;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Queue;

/// <summary>
/// The in-process <see cref="IInvocationQueue"/> (local mode, tests, single-replica gateways). "Durable" here means held
/// in memory until acknowledged: an accepted invocation is never dropped while the process lives. Lease expiry is checked
/// by a timer on <see cref="TimeProvider"/> and on every <see cref="NextAsync"/>.
/// </summary>
public sealed partial class InMemoryInvocationQueue : IInvocationQueue, IDisposable
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<FunctionKey, FunctionState> _functions = new();
    private readonly Dictionary<string, QueueEntry> _inFlight = new(StringComparer.Ordinal);
    private readonly ITimer _sweeper;

    /// <summary>The earliest lease expiry or retry due time; sweeps before it have nothing to do.</summary>
    private DateTimeOffset _nextDeadline = DateTimeOffset.MaxValue;

    public InMemoryInvocationQueue(TimeProvider time, TimeSpan? sweepInterval = null)
    {
        _time = time;
        var interval = sweepInterval ?? TimeSpan.FromMilliseconds(100);
        _sweeper = time.CreateTimer(_ => Sweep(), null, interval, interval);
    }

    public event Action<FunctionKey>? WorkArrived;

    public ValueTask EnqueueAsync(Invocation invocation, EnqueueOptions options, CancellationToken cancellationToken)
    {
        Add(new QueueEntry(invocation, options, sync: false));
        return ValueTask.CompletedTask;
    }

    public ValueTask<ISyncInvocation> EnqueueSyncAsync(Invocation invocation, EnqueueOptions options, CancellationToken cancellationToken)
    {
        var entry = new QueueEntry(invocation, options, sync: true) { Withdraw = TryWithdraw };
        Add(entry);
        return ValueTask.FromResult<ISyncInvocation>(entry);
    }

    public async ValueTask<Invocation?> NextAsync(FunctionKey key, string version, TimeSpan wait, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<Invocation?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Lane lane;
        lock (_gate)
        {
            SweepLocked();
            var fn = State(key);
            lane = fn.Lane(version);
            lane.Waiters.AddLast(waiter);
            Pump(fn, lane);
        }

        if (waiter.Task.IsCompleted)
        {
            return await waiter.Task.ConfigureAwait(false);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait);
        await using (timeout.Token.Register(() =>
        {
            lock (_gate)
            {
                lane.Waiters.Remove(waiter);
                waiter.TrySetResult(null);
            }
        }).ConfigureAwait(false))
        {
            return await waiter.Task.ConfigureAwait(false);
        }
    }

    public ValueTask<Invocation?> GetInFlightAsync(string requestId, string leaseToken, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(Leased(requestId, leaseToken) is { } entry ? entry.Invocation with { LeaseToken = entry.LeaseToken } : null);
        }
    }

    public ValueTask<bool> CompleteAsync(string requestId, string leaseToken, InvocationResult result, CancellationToken cancellationToken)
    {
        QueueEntry? entry;
        lock (_gate)
        {
            entry = Leased(requestId, leaseToken);
            if (entry is null)
            {
                return ValueTask.FromResult(false);
            }

            Finish(entry);
        }

        entry.SetResult(result);
        return ValueTask.FromResult(true);
    }

    public ValueTask<bool> ReleaseAsync(string requestId, string leaseToken, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (Leased(requestId, leaseToken) is not { } entry)
            {
                return ValueTask.FromResult(false);
            }

            Requeue(entry);
            return ValueTask.FromResult(true);
        }
    }

    public QueueStats GetStats(FunctionKey key)
    {
        lock (_gate)
        {
            if (!_functions.TryGetValue(key, out var fn))
            {
                return new QueueStats(0, 0, 0);
            }

            var depth = 0;
            var waitingSync = 0;
            foreach (var lane in fn.Lanes.Values)
            {
                depth += lane.Ready.Count + lane.Delayed.Count;
                waitingSync += lane.Ready.Count(e => e.Sync && !e.Started.IsCompleted);
            }

            return new QueueStats(depth, fn.Leased, waitingSync);
        }
    }

    public Task WaitForWorkAsync(FunctionKey key, CancellationToken cancellationToken) => QueueWork.WaitAsync(this, key, cancellationToken);

    public void SetConcurrencyLimit(FunctionKey key, int? limit)
    {
        lock (_gate)
        {
            var fn = State(key);
            fn.Limit = limit;
            PumpAll(fn);
        }
    }

    public void Dispose() => _sweeper.Dispose();

    private static FunctionKey Key(Invocation invocation) => new(invocation.Namespace, invocation.FunctionName);

    /// <summary>The in-flight entry whose current lease has this token (an older lease's token does not match).</summary>
    private QueueEntry? Leased(string requestId, string leaseToken) =>
        _inFlight.TryGetValue(requestId, out var entry) && string.Equals(entry.LeaseToken, leaseToken, StringComparison.Ordinal) ? entry : null;

    /// <summary>Takes a leased entry out of the queue for good (completed, or a sync entry whose worker was lost).</summary>
    private void Finish(QueueEntry entry)
    {
        _inFlight.Remove(entry.Invocation.RequestId);
        entry.Finished = true;
        entry.LeaseExpiresAt = null;
        entry.LeaseToken = null;
        entry.SetRunning(false);
        var fn = State(Key(entry.Invocation));
        fn.Leased--;
        PumpAll(fn);
    }

    private void Add(QueueEntry entry)
    {
        var key = Key(entry.Invocation);
        lock (_gate)
        {
            entry.DueAt = _time.GetUtcNow() + entry.Options.Delay;
            var fn = State(key);
            var lane = fn.Lane(entry.Invocation.Version);
            if (entry.Options.Delay > TimeSpan.Zero)
            {
                lane.Delayed.Add(entry);
                _nextDeadline = entry.DueAt < _nextDeadline ? entry.DueAt : _nextDeadline;
                return;
            }

            lane.Ready.AddLast(entry);
            Pump(fn, lane);
        }

        WorkArrived?.Invoke(key);
    }

    private bool TryWithdraw(QueueEntry entry)
    {
        lock (_gate)
        {
            if (entry.Finished || entry.LeaseExpiresAt is not null)
            {
                return false;
            }

            entry.Finished = true;
            var lane = State(Key(entry.Invocation)).Lane(entry.Invocation.Version);
            lane.Ready.Remove(entry);
            lane.Delayed.Remove(entry);
        }

        entry.Cancel();
        return true;
    }

    private void Requeue(QueueEntry entry)
    {
        _inFlight.Remove(entry.Invocation.RequestId);
        entry.LeaseExpiresAt = null;
        entry.LeaseToken = null;
        entry.SetRunning(false);
        var fn = State(Key(entry.Invocation));
        fn.Leased--;
        fn.Lane(entry.Invocation.Version).Ready.AddFirst(entry);
        PumpAll(fn);
    }

    private void PumpAll(FunctionState fn)
    {
        foreach (var lane in fn.Lanes.Values)
        {
            Pump(fn, lane);
        }
    }

    /// <summary>
    /// Hands ready entries (oldest first) to waiting workers while the function has concurrency left. The most recently
    /// arrived waiter goes first (LIFO): the instance that just finished, warm and tiered up, takes the next call, and
    /// surplus instances stay idle in their long poll and can scale in (issue #19; FIFO spread every call over all of them).
    /// </summary>
    private void Pump(FunctionState fn, Lane lane)
    {
        while (lane.Ready.First is { } node && lane.Waiters.Last is { } waiterNode && (fn.Limit is null || fn.Leased < fn.Limit))
        {
            lane.Ready.RemoveFirst();
            lane.Waiters.RemoveLast();
            var entry = node.Value;
            var expires = _time.GetUtcNow() + entry.Options.AckWait;
            entry.LeaseExpiresAt = expires;
            _nextDeadline = expires < _nextDeadline ? expires : _nextDeadline;
            _inFlight[entry.Invocation.RequestId] = entry;
            entry.LeaseToken = Guid.NewGuid().ToString("N");
            fn.Leased++;
            entry.Deliveries++;
            entry.SetRunning(true);
            entry.MarkStarted();
            waiterNode.Value.TrySetResult(entry.Invocation with { LeaseToken = entry.LeaseToken, Delivery = entry.Deliveries });
        }
    }

    private FunctionState State(FunctionKey key)
    {
        if (!_functions.TryGetValue(key, out var fn))
        {
            fn = new FunctionState();
            _functions[key] = fn;
        }

        return fn;
    }
}
