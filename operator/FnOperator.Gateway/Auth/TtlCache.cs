using System.Collections.Concurrent;

namespace FnOperator.Gateway.Auth;

/// <summary>A small thread-safe cache with a time-to-live per entry and a hard capacity (expired entries are purged, then everything, when full).</summary>
public sealed class TtlCache<TKey, TValue>(int capacity, TimeSpan ttl, TimeProvider time)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (TValue Value, DateTimeOffset Expires)> entries = new();

    public int Count => entries.Count;

    public bool TryGet(TKey key, out TValue value)
    {
        if (entries.TryGetValue(key, out var entry) && entry.Expires > time.GetUtcNow())
        {
            value = entry.Value;
            return true;
        }

        value = default!;
        return false;
    }

    public void Set(TKey key, TValue value)
    {
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        if (entries.Count >= capacity && !entries.ContainsKey(key))
        {
            var now = time.GetUtcNow();
            foreach (var (k, e) in entries)
            {
                if (e.Expires <= now)
                {
                    entries.TryRemove(k, out _);
                }
            }

            if (entries.Count >= capacity)
            {
                entries.Clear();
            }
        }

        entries[key] = (value, time.GetUtcNow() + ttl);
    }
}
