namespace FnOperator.EventSources;

/// <summary>
/// Gathers one batch from a source with Lambda's rules: at most batchSize records, sent when full, when
/// maximumBatchingWindowInSeconds has passed since the first record, or when the next record would pass 6 MB (that
/// record opens the next batch). With a zero window a batch is whatever one receive returned.
/// </summary>
public sealed class BatchCollector(IRecordSource source, PollerSettings settings, TimeProvider time)
{
    /// <summary>How long one receive waits for a first record (a long poll); bounded so cancellation and disabling are prompt.</summary>
    public static readonly TimeSpan IdleWait = TimeSpan.FromSeconds(2);

    private readonly Queue<SourceRecord> carried = new();

    public async Task<IReadOnlyList<SourceRecord>> NextAsync(CancellationToken cancellationToken)
    {
        var batch = new List<SourceRecord>();
        long bytes = 0;
        var started = carried.Count > 0 ? time.GetTimestamp() : 0;
        while (true)
        {
            while (carried.Count > 0 && batch.Count < settings.BatchSize)
            {
                var next = carried.Peek();
                var size = EventShapes.EstimatedSize(next, source.Identity);
                if (!Batching.Fits(bytes, size, batch.Count))
                {
                    return batch;
                }

                batch.Add(carried.Dequeue());
                bytes += size;
            }

            var elapsed = batch.Count == 0 ? TimeSpan.Zero : time.GetElapsedTime(started);
            if (Batching.ShouldFlush(batch.Count, settings.BatchSize, elapsed, settings.BatchingWindow))
            {
                return batch;
            }

            var wait = batch.Count == 0 ? IdleWait : settings.BatchingWindow - elapsed;
            var received = await source.ReceiveAsync(settings.BatchSize - batch.Count, wait, cancellationToken).ConfigureAwait(false);
            if (received.Count == 0)
            {
                if (batch.Count > 0 && settings.BatchingWindow == TimeSpan.Zero)
                {
                    return batch;
                }

                continue;
            }

            if (batch.Count == 0)
            {
                started = time.GetTimestamp();
            }

            foreach (var record in received)
            {
                carried.Enqueue(record);
            }

            if (settings.BatchingWindow == TimeSpan.Zero)
            {
                // Zero window: send what this receive brought (within size and 6 MB), keep the rest for the next batch.
                while (carried.Count > 0 && batch.Count < settings.BatchSize && Batching.Fits(bytes, EventShapes.EstimatedSize(carried.Peek(), source.Identity), batch.Count))
                {
                    bytes += EventShapes.EstimatedSize(carried.Peek(), source.Identity);
                    batch.Add(carried.Dequeue());
                }

                return batch;
            }
        }
    }

    /// <summary>Records received but not yet in a batch (given back to the source when the poller stops).</summary>
    public IReadOnlyList<SourceRecord> Carried => [.. carried];
}
