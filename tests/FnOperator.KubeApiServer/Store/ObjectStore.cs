using System.Globalization;
using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer;

/// <summary>One stored change, as a watch delivers it; <see cref="Previous"/> is the object before a MODIFIED.</summary>
public sealed record StoredEvent(long ResourceVersion, string Resource, string Type, JsonObject Object, JsonObject? Previous = null);

/// <summary>
/// The server's storage (its etcd): objects per resource storage key ("apps/deployments") and namespace/name ("" for
/// cluster-scoped), one global resourceVersion counter, and an event log that watches replay from. Only the last
/// <see cref="HistoryWindow"/> events are kept; watching from an older resourceVersion gets 410 Gone.
/// </summary>
public sealed class ObjectStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, SortedDictionary<(string Ns, string Name), JsonObject>> objects = [];
    private readonly LinkedList<StoredEvent> log = new();
    private long version = 1000;
    private long compactedBefore;

    /// <summary>Raised under the store's lock for every change, in resourceVersion order. Handlers must not block.</summary>
    public event Action<StoredEvent>? Changed;

    public long CurrentVersion
    {
        get { lock (gate) { return version; } }
    }

    /// <summary>The oldest resourceVersion a watch can start from (older ones are compacted: 410 Gone).</summary>
    public long OldestWatchable
    {
        get { lock (gate) { return compactedBefore; } }
    }

    /// <summary>How many events the history keeps (etcd's compaction window, in events).</summary>
    public int HistoryWindow { get; set; } = 10_000;

    /// <summary>Held by writers to make read-check-write sequences atomic (re-entrant).</summary>
    public Lock Gate => gate;

    public JsonObject? Get(string resource, string ns, string name)
    {
        lock (gate)
        {
            return objects.TryGetValue(resource, out var items) && items.TryGetValue((ns, name), out var obj) ? (JsonObject)obj.DeepClone() : null;
        }
    }

    /// <summary>Objects of a resource (in one namespace, or all when <paramref name="ns"/> is null), sorted by namespace and name.</summary>
    public (List<JsonObject> Items, long Version) List(string resource, string? ns)
    {
        lock (gate)
        {
            var items = objects.TryGetValue(resource, out var all) ? all.Where(p => ns is null || p.Key.Ns == ns).Select(p => (JsonObject)p.Value.DeepClone()).ToList() : [];
            return (items, version);
        }
    }

    /// <summary>Every stored object with its resource key (for the garbage collector).</summary>
    public List<(string Resource, string Ns, string Name, JsonObject Object)> All()
    {
        lock (gate)
        {
            return [.. objects.SelectMany(r => r.Value.Select(p => (r.Key, p.Key.Ns, p.Key.Name, (JsonObject)p.Value.DeepClone())))];
        }
    }

    /// <summary>Stores the object with a new resourceVersion and logs the event (ADDED or MODIFIED).</summary>
    public JsonObject Put(string resource, string ns, string name, JsonObject obj, string type)
    {
        lock (gate)
        {
            if (!objects.TryGetValue(resource, out var items))
            {
                objects[resource] = items = [];
            }

            items.TryGetValue((ns, name), out var previous);
            version++;
            obj["metadata"]!["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture);
            var stored = JsonNode.Parse(obj.ToJsonString())!.AsObject(); // normalised: numbers read back as any numeric type
            items[(ns, name)] = stored;
            Append(new StoredEvent(version, resource, type, (JsonObject)stored.DeepClone(), previous));
            return (JsonObject)stored.DeepClone();
        }
    }

    public JsonObject? Remove(string resource, string ns, string name)
    {
        lock (gate)
        {
            if (!objects.TryGetValue(resource, out var items) || !items.Remove((ns, name), out var obj))
            {
                return null;
            }

            version++;
            obj["metadata"]!["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture);
            Append(new StoredEvent(version, resource, "DELETED", (JsonObject)obj.DeepClone()));
            return obj;
        }
    }

    /// <summary>Every stored object whose ownerReferences name the uid.</summary>
    public List<(string Resource, string Ns, string Name)> Dependents(string uid)
    {
        lock (gate)
        {
            return [.. objects.SelectMany(r => r.Value
                .Where(p => p.Value["metadata"]?["ownerReferences"] is JsonArray owners && owners.Any(o => (string?)o?["uid"] == uid))
                .Select(p => (r.Key, p.Key.Ns, p.Key.Name)))];
        }
    }

    /// <summary>Whether any stored object has this uid.</summary>
    public bool Exists(string uid)
    {
        lock (gate)
        {
            return objects.Values.Any(r => r.Values.Any(o => (string?)o["metadata"]?["uid"] == uid));
        }
    }

    /// <summary>Events after <paramref name="since"/>, or null when that version was compacted away (410 Gone).</summary>
    public List<StoredEvent>? Since(long since)
    {
        lock (gate)
        {
            return since < compactedBefore ? null : [.. log.Where(e => e.ResourceVersion > since)];
        }
    }

    /// <summary>Forgets the event history: watches from any earlier resourceVersion get 410 Gone.</summary>
    public void Compact()
    {
        lock (gate)
        {
            compactedBefore = version;
            log.Clear();
        }
    }

    private void Append(StoredEvent stored)
    {
        log.AddLast(stored);
        while (log.Count > Math.Max(1, HistoryWindow))
        {
            compactedBefore = log.First!.Value.ResourceVersion;
            log.RemoveFirst();
        }

        foreach (var handler in Changed?.GetInvocationList().Cast<Action<StoredEvent>>() ?? [])
        {
            try
            {
                handler(stored);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
            {
                // one subscriber's trouble with an odd object must not keep the event from the others
            }
        }
    }
}
