using FnOperator.Contracts;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Queue;

/// <summary>
/// The in-process <see cref="IInvocationQueue"/> (local mode, tests, single-replica gateways). "Durable" here means held
/// in memory until acknowledged: an accepted invocation is never dropped while the process lives. Lease expiry is checked
/// by a timer on <see cref="TimeProvider"/> and on every <see cref="NextAsync"/>.
/// </summary>
/// <remarks>
/// What is decided under the lock (a hand-out to a waiting worker, a sync caller's result) is completed after it
/// (<see cref="Settlement"/>), and those continuations run on the completing thread: the worker continues on the thread
/// that enqueued, the caller's answer is written on the thread that completed, with no thread-pool hop between them
/// (issue #19: at c=1 every hop was a wake-up on the critical path). None ever runs under the lock. A waiter that gives up
/// (its wait ran out, its token fired) continues on the thread pool instead, never on the canceller's thread.
/// </remarks>
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
        // No RunContinuationsAsynchronously: a hand-out completes it outside the lock and the worker continues there.
        var waiter = new TaskCompletionSource<Invocation?>();
        var settle = new Settlement();
        LinkedListNode<TaskCompletionSource<Invocation?>> node;
        var gaveUp = false;
        lock (_gate)
        {
            SweepLocked(ref settle);
            var fn = State(key);
            var lane = fn.Lane(version);
            node = lane.Waiters.AddLast(waiter);
            Pump(fn, lane, ref settle);
            if (node.List is not null && (wait <= TimeSpan.Zero || cancellationToken.IsCancellationRequested))
            {
                // Nothing ready and no wait (or already cancelled): out at once, with no timer.
                node.List.Remove(node);
                gaveUp = true;
            }
        }

        settle.Complete();
        if (gaveUp)
        {
            return null;
        }

        if (waiter.Task.IsCompleted)
        {
            return await waiter.Task.ConfigureAwait(false);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait);
        await using (timeout.Token.Register(() => GiveUp(node)).ConfigureAwait(false))
        {
            return await waiter.Task.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A waiter's wait ran out or its token fired: it leaves the lane with nothing, unless a hand-out took it first (whoever
    /// removes the node from its lane completes the waiter). It continues on the thread pool: the thread that cancelled (a
    /// timer, a stopping host) must not run the worker's code.
    /// </summary>
    private void GiveUp(LinkedListNode<TaskCompletionSource<Invocation?>> node)
    {
        lock (_gate)
        {
            if (node.List is not { } waiters)
            {
                return;
            }

            waiters.Remove(node);
        }

        ThreadPool.UnsafeQueueUserWorkItem(static waiter => waiter.TrySetResult(null), node.Value, preferLocal: false);
    }

    public ValueTask<Invocation?> GetInFlightAsync(string requestId, string leaseToken, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(Leased(requestId, leaseToken) is { } entry ? entry.Invocation with { LeaseToken = entry.LeaseToken } : null);
        }
    }

    public ValueTask<bool> CompleteAsync(string requestId, string leaseToken, InvocationResult result, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Complete(requestId, leaseToken, result, null));

    /// <summary>As <see cref="CompleteAsync(string, string, InvocationResult, CancellationToken)"/>; <paramref name="acknowledged"/> runs before a sync caller is answered.</summary>
    public ValueTask<bool> CompleteAsync(string requestId, string leaseToken, InvocationResult result, Action acknowledged, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Complete(requestId, leaseToken, result, acknowledged));

    private bool Complete(string requestId, string leaseToken, InvocationResult result, Action? acknowledged)
    {
        QueueEntry? entry;
        var settle = new Settlement();
        lock (_gate)
        {
            entry = Leased(requestId, leaseToken);
            if (entry is null)
            {
                return false;
            }

            Finish(entry, ref settle);
        }

        acknowledged?.Invoke();

        // The caller's answer runs on this thread (it is written before the next hand-out, which settle completes).
        entry.SetResult(result);
        settle.Complete();
        return true;
    }

    public ValueTask<bool> ReleaseAsync(string requestId, string leaseToken, CancellationToken cancellationToken)
    {
        var settle = new Settlement();
        lock (_gate)
        {
            if (Leased(requestId, leaseToken) is not { } entry)
            {
                return ValueTask.FromResult(false);
            }

            Requeue(entry, ref settle);
        }

        settle.Complete();
        return ValueTask.FromResult(true);
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
                waitingSync += lane.WaitingSync();
            }

            return new QueueStats(depth, fn.Leased, waitingSync);
        }
    }

    public Task WaitForWorkAsync(FunctionKey key, CancellationToken cancellationToken) => QueueWork.WaitAsync(this, key, cancellationToken);

    public void SetConcurrencyLimit(FunctionKey key, int? limit)
    {
        var settle = new Settlement();
        lock (_gate)
        {
            var fn = State(key);
            fn.Limit = limit;
            PumpAll(fn, ref settle);
        }

        // Called from configuration changes: the workers this frees continue on the thread pool, not on that thread.
        settle.Complete(inline: false);
    }

    public void Dispose() => _sweeper.Dispose();

    private static FunctionKey Key(Invocation invocation) => new(invocation.Namespace, invocation.FunctionName);

    /// <summary>The in-flight entry whose current lease has this token (an older lease's token does not match).</summary>
    private QueueEntry? Leased(string requestId, string leaseToken) =>
        _inFlight.TryGetValue(requestId, out var entry) && string.Equals(entry.LeaseToken, leaseToken, StringComparison.Ordinal) ? entry : null;

    /// <summary>
    /// Takes a leased entry out of the queue for good (completed, or a sync entry whose worker was lost); the caller sets
    /// its result after the lock.
    /// </summary>
    private void Finish(QueueEntry entry, ref Settlement settle)
    {
        _inFlight.Remove(entry.Invocation.RequestId);
        entry.Finished = true;
        entry.LeaseExpiresAt = null;
        entry.LeaseToken = null;
        entry.EndRunning();
        var fn = State(Key(entry.Invocation));
        fn.Lane(entry.Invocation.Version).Leased--;
        PumpAll(fn, ref settle);
    }

    private void Add(QueueEntry entry)
    {
        var key = Key(entry.Invocation);
        var settle = new Settlement();
        bool queued;
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
            Pump(fn, lane, ref settle);
            queued = lane.Ready.Count > 0;
        }

        // A waiting worker takes it on this thread. The scalers hear of work only when it waits for an instance: work a
        // waiting worker took at once needs none started (issue #19: local mode's pool woke, on the thread pool, for every
        // invocation; it sees work that came and went between its looks by HandOuts).
        settle.Complete();
        if (queued)
        {
            WorkArrived?.Invoke(key);
        }
    }

    public long? HandOuts(FunctionKey key, string version)
    {
        lock (_gate)
        {
            return _functions.TryGetValue(key, out var fn) && fn.Lanes.TryGetValue(version, out var lane) ? lane.HandOuts : 0;
        }
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

    private void Requeue(QueueEntry entry, ref Settlement settle)
    {
        _inFlight.Remove(entry.Invocation.RequestId);
        entry.LeaseExpiresAt = null;
        entry.LeaseToken = null;
        entry.SetRunning(false);
        var fn = State(Key(entry.Invocation));
        var lane = fn.Lane(entry.Invocation.Version);
        lane.Leased--;
        lane.Ready.AddFirst(entry);
        PumpAll(fn, ref settle);
    }

    private void PumpAll(FunctionState fn, ref Settlement settle)
    {
        foreach (var lane in fn.Lanes.Values)
        {
            Pump(fn, lane, ref settle);
        }
    }

    /// <summary>
    /// Hands ready entries (oldest first) to waiting workers while the function has concurrency left. The most recently
    /// arrived waiter goes first (LIFO): the instance that just finished, warm and tiered up, takes the next call, and
    /// surplus instances stay idle in their long poll and can scale in (issue #19; FIFO spread every call over all of them).
    /// The waiter is completed after the lock (<paramref name="settle"/>).
    /// </summary>
    private void Pump(FunctionState fn, Lane lane, ref Settlement settle)
    {
        while (lane.Ready.First is { } node && lane.Waiters.Last is { } waiterNode && (fn.Limit is null || fn.Leased < fn.Limit))
        {
            var waiter = waiterNode.Value;
            lane.Ready.RemoveFirst();
            lane.Waiters.RemoveLast();
            var entry = node.Value;
            var expires = _time.GetUtcNow() + entry.Options.AckWait;
            entry.LeaseExpiresAt = expires;
            _nextDeadline = expires < _nextDeadline ? expires : _nextDeadline;
            _inFlight[entry.Invocation.RequestId] = entry;
            entry.LeaseToken = RandomIds.NewGuid().ToString("N");
            lane.Leased++;
            lane.HandOuts++;
            entry.Deliveries++;
            entry.SetRunning(true);
            entry.MarkStarted();
            settle.HandOut(waiter, entry.Invocation with { LeaseToken = entry.LeaseToken, Delivery = entry.Deliveries });
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

    /// <summary>
    /// What the queue decided under its lock and completes after it: hand-outs to waiting workers and sync callers'
    /// results. Their continuations run on the completing thread (no thread-pool hop) and so never under the lock.
    /// </summary>
    private struct Settlement
    {
        private TaskCompletionSource<Invocation?>? _waiter;
        private Invocation? _invocation;
        private List<(TaskCompletionSource<Invocation?> Waiter, Invocation Invocation)>? _more;
        private List<(QueueEntry Entry, InvocationResult Result)>? _results;

        public void HandOut(TaskCompletionSource<Invocation?> waiter, Invocation invocation)
        {
            if (_waiter is null)
            {
                _waiter = waiter;
                _invocation = invocation;
                return;
            }

            (_more ??= []).Add((waiter, invocation));
        }

        public void Answer(QueueEntry entry, InvocationResult result) => (_results ??= []).Add((entry, result));

        /// <summary>
        /// Completes them; call after the lock. Results first, then the hand-outs: the first on this thread when
        /// <paramref name="inline"/>, any further ones on the thread pool, so several workers still start in parallel.
        /// </summary>
        public readonly void Complete(bool inline = true)
        {
            if (_results is not null)
            {
                foreach (var (entry, result) in _results)
                {
                    entry.SetResult(result);
                }
            }

            if (_more is not null)
            {
                foreach (var handOut in _more)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(static h => h.Waiter.TrySetResult(h.Invocation), handOut, preferLocal: false);
                }
            }

            if (_waiter is null)
            {
                return;
            }

            if (inline)
            {
                _waiter.TrySetResult(_invocation);
            }
            else
            {
                ThreadPool.UnsafeQueueUserWorkItem(static h => h.Waiter.TrySetResult(h.Invocation), (Waiter: _waiter, Invocation: _invocation), preferLocal: false);
            }
        }
    }
}
