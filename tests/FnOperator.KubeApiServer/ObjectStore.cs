using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer;

/// <summary>One stored change, as a watch delivers it.</summary>
public sealed record StoredEvent(long ResourceVersion, string Resource, string Type, JsonObject Object);

/// <summary>
/// The stand-in API server's storage: objects per resource ("apps/v1/deployments") and namespace/name, one global
/// resourceVersion counter, and an event log that watches replay from (older versions are compacted away → 410).
/// </summary>
public sealed class ObjectStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, Dictionary<(string Ns, string Name), JsonObject>> objects = [];
    private readonly List<StoredEvent> log = [];
    private long version = 1000;
    private long compactedBefore;

    public event Action<StoredEvent>? Changed;

    public long CurrentVersion
    {
        get { lock (gate) { return version; } }
    }

    public Lock Gate => gate;

    public JsonObject? Get(string resource, string ns, string name)
    {
        lock (gate)
        {
            return objects.TryGetValue(resource, out var items) && items.TryGetValue((ns, name), out var obj) ? (JsonObject)obj.DeepClone() : null;
        }
    }

    public (List<JsonObject> Items, long Version) List(string resource, string? ns)
    {
        lock (gate)
        {
            var items = objects.TryGetValue(resource, out var all) ? all.Where(p => ns is null || p.Key.Ns == ns).Select(p => (JsonObject)p.Value.DeepClone()).ToList() : [];
            return (items, version);
        }
    }

    /// <summary>Stores the object with a new resourceVersion and logs the event.</summary>
    public JsonObject Put(string resource, string ns, string name, JsonObject obj, string type)
    {
        StoredEvent stored;
        lock (gate)
        {
            version++;
            obj["metadata"]!["resourceVersion"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!objects.TryGetValue(resource, out var items))
            {
                objects[resource] = items = [];
            }

            items[(ns, name)] = (JsonObject)obj.DeepClone();
            stored = new StoredEvent(version, resource, type, (JsonObject)obj.DeepClone());
            log.Add(stored);
            Changed?.Invoke(stored); // under the lock, so subscribers see events in resourceVersion order
        }

        return obj;
    }

    public JsonObject? Remove(string resource, string ns, string name)
    {
        StoredEvent stored;
        lock (gate)
        {
            if (!objects.TryGetValue(resource, out var items) || !items.Remove((ns, name), out var obj))
            {
                return null;
            }

            version++;
            obj["metadata"]!["resourceVersion"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            stored = new StoredEvent(version, resource, "DELETED", obj);
            log.Add(stored);
            Changed?.Invoke(stored);
        }

        return stored.Object;
    }

    /// <summary>Every stored object whose ownerReferences name the uid (for cascading deletion).</summary>
    public List<(string Resource, string Ns, string Name)> Dependents(string uid)
    {
        lock (gate)
        {
            return [.. objects.SelectMany(r => r.Value
                .Where(p => p.Value["metadata"]?["ownerReferences"] is JsonArray owners && owners.Any(o => (string?)o?["uid"] == uid))
                .Select(p => (r.Key, p.Key.Ns, p.Key.Name)))];
        }
    }

    /// <summary>Events after <paramref name="since"/>, or null when that version was compacted away (410 Gone).</summary>
    public List<StoredEvent>? Since(long since)
    {
        lock (gate)
        {
            if (since < compactedBefore)
            {
                return null;
            }

            return [.. log.Where(e => e.ResourceVersion > since)];
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
}
