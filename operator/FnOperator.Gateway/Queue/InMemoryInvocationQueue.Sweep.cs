using FnOperator.Contracts;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Queue;

/// <summary>Lease expiry, delayed retries, scans and per-version counters of <see cref="InMemoryInvocationQueue"/>.</summary>
public sealed partial class InMemoryInvocationQueue
{
    private void Sweep()
    {
        List<FunctionKey>? arrived;
        var settle = new Settlement();
        lock (_gate)
        {
            arrived = SweepLocked(ref settle);
        }

        settle.Complete();
        foreach (var key in arrived ?? [])
        {
            WorkArrived?.Invoke(key);
        }
    }

    /// <summary>
    /// Requeues expired leases and moves due delayed entries to their lanes (hand-outs and lost sync callers' answers go to
    /// <paramref name="settle"/>, completed after the lock). Returns the functions that got work.
    /// </summary>
    private List<FunctionKey>? SweepLocked(ref Settlement settle)
    {
        var now = _time.GetUtcNow();
        if (now < _nextDeadline)
        {
            return null;
        }

        var arrived = new List<FunctionKey>();
        foreach (var expired in _inFlight.Values.Where(e => e.LeaseExpiresAt <= now).ToList())
        {
            if (expired.Sync)
            {
                // The worker died with it: answer the caller instead of running it a second time.
                Finish(expired, ref settle);
                settle.Answer(expired, LeaseLost.Result(expired.Invocation));
            }
            else
            {
                Requeue(expired, ref settle);
            }
        }

        foreach (var (key, fn) in _functions)
        {
            foreach (var lane in fn.Lanes.Values)
            {
                var due = lane.Delayed.Where(e => e.DueAt <= now).OrderBy(e => e.DueAt).ToList();
                if (due.Count == 0)
                {
                    continue;
                }

                foreach (var entry in due)
                {
                    lane.Delayed.Remove(entry);
                    lane.Ready.AddLast(entry);
                }

                arrived.Add(key);
                Pump(fn, lane, ref settle);
            }
        }

        _nextDeadline = _inFlight.Values.Select(e => e.LeaseExpiresAt ?? DateTimeOffset.MaxValue)
            .Concat(_functions.Values.SelectMany(f => f.Lanes.Values).SelectMany(l => l.Delayed).Select(e => e.DueAt))
            .DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        return arrived;
    }

    public IReadOnlyList<Invocation> TakeQueued(FunctionKey key, Func<Invocation, bool> predicate)
    {
        var taken = new List<QueueEntry>();
        lock (_gate)
        {
            if (!_functions.TryGetValue(key, out var fn))
            {
                return [];
            }

            foreach (var lane in fn.Lanes.Values)
            {
                foreach (var entry in lane.Ready.Concat(lane.Delayed).Where(e => predicate(e.Invocation)).ToList())
                {
                    lane.Ready.Remove(entry);
                    lane.Delayed.Remove(entry);
                    entry.Finished = true;
                    taken.Add(entry);
                }
            }
        }

        foreach (var entry in taken.Where(e => e.Sync))
        {
            entry.Cancel();
        }

        return taken.Select(e => e.Invocation).ToList();
    }

    public IReadOnlyDictionary<string, QueueStats> GetVersionStats(FunctionKey key)
    {
        lock (_gate)
        {
            if (!_functions.TryGetValue(key, out var fn))
            {
                return new Dictionary<string, QueueStats>();
            }

            // Per lane counts (issue #19: this ran a scan of every in-flight entry per lane, on every enqueue — the local
            // pool's step — and every poll's cold-start check).
            var stats = new Dictionary<string, QueueStats>(fn.Lanes.Count, StringComparer.Ordinal);
            foreach (var (version, lane) in fn.Lanes)
            {
                stats[version] = new QueueStats(lane.Ready.Count + lane.Delayed.Count, lane.Leased, lane.WaitingSync());
            }

            return stats;
        }
    }
}
