using k8s.Models;

namespace FnOperator.Operator.Runtime;

/// <summary>
/// The recorder's memory: one entry per (object UID, type, reason) seen within the window, with the count observed and
/// the count written. Used from the recorder's single loop only. Bounded: beyond MaxTracked, the least recently seen
/// entry is forgotten (its next occurrence starts a new Event).
/// </summary>
internal sealed class EventAggregator(EventRecorderOptions options, TimeProvider time)
{
    private readonly Dictionary<(string Uid, string Type, string Reason), Entry> entries = [];

    /// <returns>The entry to create an Event for when this occurrence starts one; null when it was counted into one.</returns>
    public Entry? Observe(Occurrence occurrence)
    {
        var key = (occurrence.Regarding.Uid ?? occurrence.Regarding.Name, occurrence.Type, occurrence.Reason);
        if (entries.TryGetValue(key, out var entry) && occurrence.At - entry.Last < options.Window)
        {
            entry.Repeat(occurrence); // written by the next Due() round
            return null;
        }

        if (entries.Count >= options.MaxTracked)
        {
            entries.Remove(entries.MinBy(e => e.Value.Last).Key);
        }

        entry = new Entry(occurrence);
        entries[key] = entry;
        return entry;
    }

    /// <summary>Entries with unwritten occurrences whose last write (or attempt) is at least the update interval ago.</summary>
    public IReadOnlyList<Entry> Due()
    {
        var now = time.GetUtcNow();
        return [.. entries.Values.Where(e => (e.Name is null || e.Count > e.WrittenCount) && now - e.LastWrite >= options.UpdateInterval)];
    }

    internal sealed class Entry(Occurrence first)
    {
        public V1ObjectReference Regarding { get; } = first.Regarding;

        public string Namespace => Regarding.NamespaceProperty ?? "default";

        public string Type { get; } = first.Type;

        public string Reason { get; } = first.Reason;

        public DateTimeOffset First { get; } = first.At;

        public DateTimeOffset Last { get; private set; } = first.At;

        public string Message { get; private set; } = first.Message;

        public int Count { get; private set; } = 1;

        public int WrittenCount { get; private set; }

        public DateTimeOffset LastWrite { get; private set; } = first.At;

        /// <summary>The Event's name once created.</summary>
        public string? Name { get; private set; }

        public void Repeat(Occurrence occurrence)
        {
            Count++;
            Last = occurrence.At;
            Message = occurrence.Message;
        }

        public (int Count, DateTimeOffset Last, string Message) Snapshot() => (Count, Last, Message);

        public void Written(string name, int count, DateTimeOffset at)
        {
            Name = name;
            WrittenCount = count;
            LastWrite = at;
        }

        /// <summary>A failed write is tried again after the update interval; an Event gone meanwhile is created again.</summary>
        public void Failed(bool gone, DateTimeOffset at)
        {
            if (gone)
            {
                Name = null;
            }

            LastWrite = at;
        }
    }
}
