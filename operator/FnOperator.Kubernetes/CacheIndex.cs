using System.Collections.Concurrent;

namespace FnOperator.Kubernetes;

/// <summary>
/// Secondary indexes of an informer cache: index name → value → UIDs. Written by the informer's loop only, read from
/// any thread. Each object's values are remembered so an update or delete removes exactly what it added.
/// </summary>
internal sealed class CacheIndex<T>
{
    private readonly ConcurrentDictionary<string, Func<T, IEnumerable<string>>> indexers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Index, string Value), ConcurrentDictionary<string, byte>> uids = new();
    private readonly ConcurrentDictionary<string, (string Index, string Value)[]> entriesByUid = new(StringComparer.Ordinal);

    public void Add(string name, Func<T, IEnumerable<string>> values)
    {
        if (!indexers.TryAdd(name, values))
        {
            throw new InvalidOperationException($"Index {name} is already registered.");
        }
    }

    public IEnumerable<string> Uids(string name, string value)
    {
        if (!indexers.ContainsKey(name))
        {
            throw new InvalidOperationException($"No index {name} is registered on this informer.");
        }

        return uids.TryGetValue((name, value), out var set) ? set.Keys : [];
    }

    public void Update(string uid, T obj)
    {
        if (indexers.IsEmpty)
        {
            return;
        }

        Remove(uid);
        var entries = indexers.SelectMany(i => i.Value(obj).Distinct(StringComparer.Ordinal).Select(v => (i.Key, v))).ToArray();
        foreach (var entry in entries)
        {
            uids.GetOrAdd(entry, _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal))[uid] = 0;
        }

        entriesByUid[uid] = entries;
    }

    public void Remove(string uid)
    {
        if (!entriesByUid.TryRemove(uid, out var entries))
        {
            return;
        }

        foreach (var entry in entries)
        {
            if (uids.TryGetValue(entry, out var set) && set.TryRemove(uid, out _) && set.IsEmpty)
            {
                uids.TryRemove(new KeyValuePair<(string, string), ConcurrentDictionary<string, byte>>(entry, set));
            }
        }
    }
}
