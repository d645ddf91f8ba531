using System.Collections.Concurrent;

namespace FnOperator.Gateway.Auth;

/// <summary>
/// Failed authentications per source address, as a token bucket: <c>burst</c> failures at once, refilled at
/// <c>burst</c> per minute. A blocked source is answered 429 before any signature work. The table is bounded: when it
/// is full of recent sources, new sources share one bucket (so many addresses cannot grow memory, only share a limit).
/// </summary>
public sealed class FailureLimiter(int burst, int capacity, TimeProvider time)
{
    private const string Overflow = "(overflow)";
    private readonly ConcurrentDictionary<string, Bucket> buckets = new(StringComparer.Ordinal);

    public int Sources => buckets.Count;

    public bool IsBlocked(string source)
    {
        if (!buckets.TryGetValue(source, out var bucket) && !buckets.TryGetValue(Overflow, out bucket))
        {
            return false;
        }

        lock (bucket)
        {
            return bucket.Available(burst, time.GetUtcNow()) < 1;
        }
    }

    public void Failed(string source)
    {
        var bucket = buckets.TryGetValue(source, out var existing) ? existing : Add(source);
        lock (bucket)
        {
            var now = time.GetUtcNow();
            bucket.Tokens = bucket.Available(burst, now) - 1;
            bucket.Updated = now;
        }
    }

    private Bucket Add(string source)
    {
        if (buckets.Count >= capacity)
        {
            var now = time.GetUtcNow();
            foreach (var (key, bucket) in buckets)
            {
                lock (bucket)
                {
                    if (key != Overflow && bucket.Available(burst, now) >= burst)
                    {
                        buckets.TryRemove(key, out _);
                    }
                }
            }

            if (buckets.Count >= capacity)
            {
                return buckets.GetOrAdd(Overflow, _ => new Bucket(burst, time.GetUtcNow()));
            }
        }

        return buckets.GetOrAdd(source, _ => new Bucket(burst, time.GetUtcNow()));
    }

    private sealed class Bucket(double tokens, DateTimeOffset updated)
    {
        public double Tokens { get; set; } = tokens;

        public DateTimeOffset Updated { get; set; } = updated;

        public double Available(int burst, DateTimeOffset now) =>
            Math.Min(burst, Tokens + (Math.Max(0, (now - Updated).TotalSeconds) * burst / 60.0));
    }
}
