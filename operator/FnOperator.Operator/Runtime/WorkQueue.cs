using FnOperator.Contracts;

namespace FnOperator.Operator.Runtime;

/// <summary>
/// A work queue in client-go's shape: an item waits in the queue at most once (adds while it waits are merged), an item
/// is handed to at most one worker at a time (an add while it is processed re-queues it after <see cref="Done"/>),
/// delayed adds keep the earliest due time, and <see cref="AddRateLimited"/> backs off per item and overall.
/// Time comes from the injected <see cref="TimeProvider"/>, so tests drive it with a fake clock.
/// </summary>
public sealed class WorkQueue<T>(TimeProvider time, WorkQueueOptions options) : IDisposable where T : notnull
{
    private readonly Lock gate = new();
    private readonly Queue<T> queue = new();
    private readonly HashSet<T> dirty = [];
    private readonly HashSet<T> processing = [];
    private readonly Dictionary<T, int> failures = [];
    private readonly Dictionary<T, (DateTimeOffset Due, Pending Entry)> waiting = [];
    private readonly SemaphoreSlim available = new(0);
    private double tokens = options.Burst;
    private DateTimeOffset tokensAt = time.GetUtcNow();
    private bool shuttingDown;

    /// <summary>Items waiting to be handed out (not counting delayed ones or those being processed).</summary>
    public int Depth
    {
        get { lock (gate) { return queue.Count; } }
    }

    /// <summary>Items whose delayed add has not fired yet.</summary>
    public int DelayedCount
    {
        get { lock (gate) { return waiting.Count; } }
    }

    public bool IsShuttingDown
    {
        get { lock (gate) { return shuttingDown; } }
    }

    public void Add(T item)
    {
        lock (gate)
        {
            if (shuttingDown || !dirty.Add(item))
            {
                return;
            }

            if (processing.Contains(item))
            {
                return; // re-queued by Done
            }

            queue.Enqueue(item);
        }

        available.Release();
    }

    /// <summary>Adds the item once <paramref name="delay"/> has passed; an earlier pending due time wins.</summary>
    public void AddAfter(T item, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(item);
            return;
        }

        lock (gate)
        {
            if (shuttingDown)
            {
                return;
            }

            var due = time.GetUtcNow() + delay;
            if (waiting.TryGetValue(item, out var pending))
            {
                if (pending.Due <= due)
                {
                    return;
                }

                pending.Entry.Timer?.Dispose();
            }

            var entry = new Pending(item);
            entry.Timer = time.CreateTimer(Fire, entry, delay, Timeout.InfiniteTimeSpan);
            waiting[item] = (due, entry);
        }
    }

    /// <summary>Adds the item after its backoff: per item base × 2^failures (capped), and no faster than the bucket allows.</summary>
    public void AddRateLimited(T item) => AddAfter(item, NextDelay(item));

    /// <summary>How many times the item went through <see cref="AddRateLimited"/> since the last <see cref="Forget"/>.</summary>
    public int Failures(T item)
    {
        lock (gate)
        {
            return failures.GetValueOrDefault(item);
        }
    }

    /// <summary>Clears the item's failure count (call after a successful or terminal reconcile).</summary>
    public void Forget(T item)
    {
        lock (gate)
        {
            failures.Remove(item);
        }
    }

    /// <summary>Waits for the next item. Returns false once the queue is shut down and empty.</summary>
    public async ValueTask<(bool Ok, T Item)> GetAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await available.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (gate)
            {
                if (queue.Count == 0)
                {
                    if (shuttingDown)
                    {
                        available.Release(); // wake the next waiter too
                        return (false, default!);
                    }

                    continue;
                }

                var item = queue.Dequeue();
                processing.Add(item);
                dirty.Remove(item);
                return (true, item);
            }
        }
    }

    /// <summary>Marks the item processed; if it was added meanwhile it goes back into the queue.</summary>
    public void Done(T item)
    {
        bool requeue;
        lock (gate)
        {
            processing.Remove(item);
            requeue = dirty.Contains(item) && !shuttingDown;
            if (requeue)
            {
                queue.Enqueue(item);
            }
        }

        if (requeue)
        {
            available.Release();
        }
    }

    /// <summary>Stops accepting items; waiting <see cref="GetAsync"/> calls return false once the queue drains.</summary>
    public void ShutDown()
    {
        lock (gate)
        {
            shuttingDown = true;
            foreach (var (_, entry) in waiting.Values)
            {
                entry.Timer?.Dispose();
            }

            waiting.Clear();
        }

        available.Release();
    }

    public void Dispose()
    {
        ShutDown();
        available.Dispose();
    }

    private TimeSpan NextDelay(T item)
    {
        lock (gate)
        {
            var count = failures.GetValueOrDefault(item);
            failures[item] = count + 1;
            var perItem = Backoff.Exponential(count + 1, options.BaseDelay, options.MaxDelay);
            var overall = BucketDelay();
            return perItem > overall ? perItem : overall;
        }
    }

    // Token bucket: refill at RetriesPerSecond up to Burst; a taken token in the future becomes a delay.
    private TimeSpan BucketDelay()
    {
        var now = time.GetUtcNow();
        if (now > tokensAt)
        {
            tokens = Math.Min(options.Burst, tokens + (now - tokensAt).TotalSeconds * options.RetriesPerSecond);
            tokensAt = now;
        }

        tokens -= 1;
        return tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-tokens / options.RetriesPerSecond);
    }

    private void Fire(object? state)
    {
        var entry = (Pending)state!;
        lock (gate)
        {
            // A timer replaced by an earlier AddAfter may still fire; only the current one counts.
            if (!waiting.TryGetValue(entry.Item, out var current) || !ReferenceEquals(current.Entry, entry))
            {
                return;
            }

            waiting.Remove(entry.Item);
            entry.Timer?.Dispose();
        }

        Add(entry.Item);
    }

    private sealed class Pending(T item)
    {
        public T Item { get; } = item;

        public ITimer? Timer { get; set; }
    }
}
