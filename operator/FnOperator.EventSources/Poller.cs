using FnOperator.Contracts;

namespace FnOperator.EventSources;

/// <summary>
/// One mapping's poller: connects (reconnecting with the shared backoff), then runs maximumConcurrency batch loops for a
/// queue or one ordered loop for a stream, each gather → filter → invoke through the Invoke API → ack / retry /
/// discard. Every loop is bounded: batchSize records per batch, maximumConcurrency batches in flight, backoff between
/// failed attempts. Returns when <paramref name="cancellationToken"/> is cancelled (disable, delete, lost lease).
/// </summary>
public sealed class Poller(Func<IRecordSource> connect, PollerSettings settings, IFunctionInvoker invoker, IPollerObserver observer, TimeProvider time)
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var source = connect();
            try
            {
                await source.ConnectAsync(cancellationToken).ConfigureAwait(false);
                observer.Connected(source.Identity);
                failures = 0;
                var loops = source.Identity.Kind == SourceKind.Stream ? 1 : Math.Max(1, settings.MaximumConcurrency);
                await Task.WhenAll(Enumerable.Range(0, loops).Select(_ => LoopAsync(source, cancellationToken))).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                observer.SourceFailed(e as SourceException ?? new SourceException(SourceFailure.Unreachable, e.Message, e));
                failures++;
            }
            finally
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }

            await DelayAsync(Backoff.Jittered(failures, FirstRetry, MaxRetry), time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task LoopAsync(IRecordSource source, CancellationToken cancellationToken)
    {
        var parallel = source.Identity.Kind == SourceKind.Stream && settings.ParallelizationFactor > 1;
        var collector = new BatchCollector(source, parallel ? settings with { BatchSize = settings.BatchSize * settings.ParallelizationFactor } : settings, time);
        var sink = new FailureSink(source, invoker, settings.OnFailure, settings.Namespace);
        var round = new ParallelStreamRound(source, settings, () => new StreamBatch(source, settings, invoker, sink, observer, time));
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var batch = await collector.NextAsync(cancellationToken).ConfigureAwait(false);
                if (source.Identity.Kind == SourceKind.Queue)
                {
                    await new QueueBatch(source, settings, invoker, sink, observer, time).ProcessAsync(batch, cancellationToken).ConfigureAwait(false);
                }
                else if (parallel)
                {
                    await round.ProcessAsync(batch, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await new StreamBatch(source, settings, invoker, sink, observer, time).ProcessAsync(batch, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            if (source.Identity.Kind == SourceKind.Queue && collector.Carried.Count > 0)
            {
                await source.ReleaseAsync(collector.Carried, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    internal static async Task DelayAsync(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
