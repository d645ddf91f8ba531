using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Api;

/// <summary>
/// Byte budgets enforced when an invocation is admitted, so they hold for any <see cref="IInvocationQueue"/>. A sync
/// reservation lives exactly as long as its caller waits. An async reservation is counted from acceptance; the queue
/// offers no completion hook, so when a budget would be exceeded the count is recomputed from what the queue still holds
/// (<see cref="IInvocationQueue.TakeQueued"/> with a predicate that takes nothing), at most every 100 ms. A queue that
/// keeps payloads outside the gateway (JetStream) reports none, and only the burst between recounts is then bounded.
/// </summary>
public sealed class AdmissionBudget(GatewayLimits limits, IInvocationQueue queue, TimeProvider time)
{
    private static readonly TimeSpan RecountInterval = TimeSpan.FromMilliseconds(100);
    private readonly Lock gate = new();
    private readonly Dictionary<FunctionKey, long> sync = [];
    private readonly Dictionary<FunctionKey, long> async = [];
    private long syncTotal;
    private long asyncTotal;
    private long lastRecount = long.MinValue;

    /// <summary>The bytes counted now: (async, sync), over all functions.</summary>
    public (long Async, long Sync) Held
    {
        get
        {
            lock (gate)
            {
                return (asyncTotal, syncTotal);
            }
        }
    }

    /// <summary>Reserves <paramref name="bytes"/> for an invocation of <paramref name="type"/>; false when a budget is spent.</summary>
    public bool TryReserve(InvocationType type, FunctionKey key, long bytes)
    {
        if (type == InvocationType.Event)
        {
            if (TryAdd(async, ref asyncTotal, key, bytes, limits.AsyncBytesPerFunction, limits.AsyncBytes))
            {
                return true;
            }

            Recount();
            return TryAdd(async, ref asyncTotal, key, bytes, limits.AsyncBytesPerFunction, limits.AsyncBytes);
        }

        return TryAdd(sync, ref syncTotal, key, bytes, limits.SyncBytesPerFunction, limits.SyncBytes);
    }

    /// <summary>Gives bytes back: a sync caller got its answer, or an invocation was refused after its reservation.</summary>
    public void Release(InvocationType type, FunctionKey key, long bytes)
    {
        lock (gate)
        {
            if (type == InvocationType.Event)
            {
                Subtract(async, ref asyncTotal, key, bytes);
            }
            else
            {
                Subtract(sync, ref syncTotal, key, bytes);
            }
        }
    }

    private bool TryAdd(Dictionary<FunctionKey, long> held, ref long total, FunctionKey key, long bytes, long perFunction, long overall)
    {
        lock (gate)
        {
            var current = held.GetValueOrDefault(key);
            if (bytes > 0 && (current + bytes > perFunction || total + bytes > overall))
            {
                return false;
            }

            held[key] = current + bytes;
            total += bytes;
            return true;
        }
    }

    private static void Subtract(Dictionary<FunctionKey, long> held, ref long total, FunctionKey key, long bytes)
    {
        var left = Math.Max(0, held.GetValueOrDefault(key) - bytes);
        total = Math.Max(0, total - bytes);
        if (left == 0)
        {
            held.Remove(key);
        }
        else
        {
            held[key] = left;
        }
    }

    /// <summary>Replaces the async counts by the Event payload bytes the queue still holds (queued and delayed).</summary>
    private void Recount()
    {
        FunctionKey[] keys;
        lock (gate)
        {
            var now = time.GetTimestamp();
            if (lastRecount != long.MinValue && time.GetElapsedTime(lastRecount, now) < RecountInterval)
            {
                return;
            }

            lastRecount = now;
            keys = [.. async.Keys];
        }

        var counted = new Dictionary<FunctionKey, long>();
        foreach (var key in keys)
        {
            long bytes = 0;
            queue.TakeQueued(key, invocation =>
            {
                if (invocation.Type == InvocationType.Event)
                {
                    bytes += invocation.Payload.Length;
                }

                return false;
            });
            counted[key] = bytes;
        }

        lock (gate)
        {
            foreach (var (key, bytes) in counted)
            {
                asyncTotal -= async.GetValueOrDefault(key) - bytes;
                if (bytes == 0)
                {
                    async.Remove(key);
                }
                else
                {
                    async[key] = bytes;
                }
            }
        }
    }
}
