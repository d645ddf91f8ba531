using FnOperator.Contracts;

namespace FnOperator.EventSources;

/// <summary>
/// One stream batch, in order: records no filter matches are skipped; records older than maximumRecordAgeInSeconds and
/// segments out of retries go to the failure destination as Lambda's failure record; a function error bisects the
/// segment (bisectBatchOnFunctionError) or retries it; ReportBatchItemFailures retries from the lowest reported
/// sequence number. The checkpoint moves past the batch only when every record is processed or discarded, so a
/// restarted poller resumes at the first record not yet done.
/// </summary>
internal sealed class StreamBatch(IRecordSource source, PollerSettings settings, IFunctionInvoker invoker, FailureSink sink, IPollerObserver observer, TimeProvider time)
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(10);

    /// <param name="checkpoint">False for one lane of a parallel round (<see cref="ParallelStreamRound"/>): the round moves the checkpoint.</param>
    public async Task ProcessAsync(IReadOnlyList<SourceRecord> batch, CancellationToken cancellationToken, bool checkpoint = true)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var matching = batch.Where(r => settings.Filter.Matches(r, SourceKind.Stream)).ToList();
        var work = new Stack<Segment>();
        if (matching.Count > 0)
        {
            work.Push(new Segment(matching));
        }

        var invokes = 0;
        var throttles = 0;
        var last = new InvokeSummary(200, null);
        string? problem = null;
        while (work.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var segment = work.Pop();
            var expired = StreamDecisions.Expired(segment.Records, settings.MaximumRecordAgeInSeconds, time.GetUtcNow());
            if (expired > 0)
            {
                await DiscardAsync([.. segment.Records.Take(expired)], StreamDecisions.RecordAgeExceeded, invokes, last, cancellationToken).ConfigureAwait(false);
                if (expired == segment.Records.Count)
                {
                    continue;
                }

                segment = segment with { Records = [.. segment.Records.Skip(expired)] };
            }

            var payload = EventShapes.Batch(source.Identity, segment.Records);
            var outcome = await invoker.InvokeAsync(settings.FunctionName, settings.Qualifier, payload, asynchronous: false, cancellationToken).ConfigureAwait(false);
            invokes++;
            last = new InvokeSummary(outcome.StatusCode, outcome.FunctionError);
            var result = BatchResult.From(outcome, segment.Records, settings.ReportBatchItemFailures);
            throttles = result.Throttled ? throttles + 1 : 0;
            if (result.Denied)
            {
                observer.InvokeDenied(result.Error!);
            }

            problem = result.Succeeded ? problem : result.Error ?? "some records failed";
            switch (StreamDecisions.Decide(segment, result, settings.BisectBatchOnFunctionError, settings.MaximumRetryAttempts))
            {
                case StreamStep.Split split:
                    work.Push(split.Second);
                    work.Push(split.First);
                    break;
                case StreamStep.Continue next:
                    work.Push(next.Rest);
                    var attempt = result.Throttled ? throttles : Math.Max(1, next.Rest.Attempts);
                    await Poller.DelayAsync(Backoff.Jittered(attempt, FirstRetry, MaxRetry), time, cancellationToken).ConfigureAwait(false);
                    break;
                case StreamStep.Discard discard:
                    await DiscardAsync(discard.Segment.Records, discard.Condition, invokes, last, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (checkpoint)
        {
            await source.AckAsync(batch, cancellationToken).ConfigureAwait(false);
        }

        observer.Processed(problem is null ? "OK" : $"PROBLEM: {problem}", matching.Count, time.GetUtcNow());
    }

    private async Task DiscardAsync(IReadOnlyList<SourceRecord> records, string condition, int invokes, InvokeSummary last, CancellationToken cancellationToken)
    {
        var record = EventShapes.StreamFailure(source.Identity, settings.FunctionArn, records, condition, invokes, last, time.GetUtcNow());
        for (var attempt = 1; !await sink.SendAsync(record, cancellationToken).ConfigureAwait(false); attempt++)
        {
            await Poller.DelayAsync(Backoff.Jittered(attempt, FirstRetry, MaxRetry), time, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        observer.Discarded(records.Count, condition);
    }
}
