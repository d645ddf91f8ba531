using FnOperator.Contracts;

namespace FnOperator.EventSources;

/// <summary>
/// One queue batch: messages delivered more than maximumRetryAttempts + 1 times go to the failure destination (a
/// dead-letter of the original message) and are deleted; messages no filter matches are deleted unseen; the rest invoke
/// the function once. Success deletes them; a function error makes the whole batch visible again; with
/// ReportBatchItemFailures only the reported messages are. Throttles are retried here without a redelivery.
/// </summary>
internal sealed class QueueBatch(IRecordSource source, PollerSettings settings, IFunctionInvoker invoker, FailureSink sink, IPollerObserver observer, TimeProvider time)
{
    private const int ThrottleRetries = 5;
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxDeniedRetry = TimeSpan.FromSeconds(30);

    public async Task ProcessAsync(IReadOnlyList<SourceRecord> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var deadLetters = settings.MaximumRetryAttempts < 0 ? [] : batch.Where(r => r.DeliveryCount > settings.MaximumRetryAttempts + 1).ToList();
        foreach (var record in deadLetters)
        {
            if (!sink.Configured && source is IRejectingSource rejecting)
            {
                // No mapping destination: the broker's own dead-lettering (a RabbitMQ queue's x-dead-letter-exchange) decides.
                await rejecting.RejectAsync([record], cancellationToken).ConfigureAwait(false);
            }
            else if (await sink.SendAsync(record.Body, cancellationToken).ConfigureAwait(false))
            {
                await source.AckAsync([record], cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await source.ReleaseAsync([record], cancellationToken).ConfigureAwait(false);
            }
        }

        if (deadLetters.Count > 0)
        {
            observer.Discarded(deadLetters.Count, StreamDecisions.RetryAttemptsExhausted);
        }

        var live = batch.Except(deadLetters).ToList();
        var matching = live.Where(r => settings.Filter.Matches(r, source.Identity)).ToList();
        var dropped = live.Except(matching).ToList();
        if (dropped.Count > 0)
        {
            await source.AckAsync(dropped, cancellationToken).ConfigureAwait(false);
        }

        if (matching.Count == 0)
        {
            return;
        }

        var result = await InvokeAsync(matching, cancellationToken).ConfigureAwait(false);
        var failed = result.AllFailed ? matching : matching.Where(r => result.FailedIds.Contains(r.Id)).ToList();
        var succeeded = result.AllFailed ? [] : matching.Where(r => !result.FailedIds.Contains(r.Id)).ToList();
        if (succeeded.Count > 0)
        {
            await source.AckAsync(succeeded, cancellationToken).ConfigureAwait(false);
        }

        if (failed.Count > 0)
        {
            await source.ReleaseAsync(failed, cancellationToken).ConfigureAwait(false);
        }

        observer.Processed(result.Succeeded ? "OK" : $"PROBLEM: {result.Error ?? $"{failed.Count} of {matching.Count} records failed"}", matching.Count, time.GetUtcNow());
    }

    private async Task<BatchResult> InvokeAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken)
    {
        var payload = EventShapes.Batch(source.Identity, records);
        for (var attempt = 1; ; attempt++)
        {
            var outcome = await invoker.InvokeAsync(settings.FunctionName, settings.Qualifier, payload, asynchronous: false, cancellationToken).ConfigureAwait(false);
            var result = BatchResult.From(outcome, records, settings.ReportBatchItemFailures);
            if (result.Denied)
            {
                // Not the function's fault: the batch stays in flight (no redelivery, no retry counted) until the
                // gateway accepts the poller's credentials or the poller stops.
                observer.InvokeDenied(result.Error!);
            }
            else if (!result.Throttled || attempt >= ThrottleRetries)
            {
                return result;
            }

            await Poller.DelayAsync(Backoff.Jittered(attempt, FirstRetry, result.Denied ? MaxDeniedRetry : MaxRetry), time, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
