using System.Text;

namespace FnOperator.EventSources;

/// <summary>
/// Lambda's ParallelizationFactor for a stream: the records gathered for a round (up to batchSize × factor) are spread
/// over <c>factor</c> lanes by a stable hash of their partition key; the lanes run at once, each processing its
/// records in order in batches of at most batchSize (and 6 MB) with the usual stream error handling (bisect, retries,
/// record age, ReportBatchItemFailures). So every key's records are processed in order, different keys concurrently.
/// The checkpoint moves past the round only when every lane is done: a poller stopped mid-round replays the whole round
/// (at-least-once; the duplicates are at most one round), and a slow lane holds back the next round.
/// </summary>
internal sealed class ParallelStreamRound(IRecordSource source, PollerSettings settings, Func<StreamBatch> lane)
{
    public async Task ProcessAsync(IReadOnlyList<SourceRecord> round, CancellationToken cancellationToken)
    {
        if (round.Count == 0)
        {
            return;
        }

        var lanes = round.GroupBy(r => StreamLanes.Lane(r.PartitionKey, settings.ParallelizationFactor)).Select(g => g.ToList()).ToList();
        await Task.WhenAll(lanes.Select(records => RunLaneAsync(records, cancellationToken))).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        await source.AckAsync(round, cancellationToken).ConfigureAwait(false);
    }

    private async Task RunLaneAsync(List<SourceRecord> records, CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var batch in StreamLanes.Batches(records, settings.BatchSize, source.Identity))
        {
            await lane().ProcessAsync(batch, cancellationToken, checkpoint: false).ConfigureAwait(false);
        }
    }
}

public static class StreamLanes
{
    /// <summary>The lane (0 … factor-1) of a partition key: FNV-1a of its UTF-8 bytes, stable across processes.</summary>
    public static int Lane(string? partitionKey, int factor)
    {
        if (factor <= 1)
        {
            return 0;
        }

        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(partitionKey ?? ""))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % (uint)factor);
    }

    /// <summary>Consecutive batches of at most <paramref name="batchSize"/> records and 6 MB, in order.</summary>
    public static IEnumerable<IReadOnlyList<SourceRecord>> Batches(IReadOnlyList<SourceRecord> records, int batchSize, SourceIdentity source)
    {
        var batch = new List<SourceRecord>();
        long bytes = 0;
        foreach (var record in records)
        {
            var size = EventShapes.EstimatedSize(record, source);
            if (batch.Count >= batchSize || !Batching.Fits(bytes, size, batch.Count))
            {
                yield return batch;
                batch = [];
                bytes = 0;
            }

            batch.Add(record);
            bytes += size;
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }
}
