using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Runtime;

/// <summary>
/// Runs a reconciler over a work queue with N workers. A key is reconciled by one worker at a time; the result decides
/// what happens next: done (forget), requeue after a delay, error (per-key exponential backoff), terminal (forget).
/// </summary>
public sealed partial class Controller(
    IReconciler reconciler, WorkQueue<ObjectKey> queue, int workers, OperatorMetrics metrics, TimeProvider time,
    ILogger<Controller> logger)
{
    public WorkQueue<ObjectKey> Queue => queue;

    public string Kind => reconciler.Kind;

    public void Enqueue(ObjectKey key)
    {
        queue.Add(key);
        metrics.QueueDepth(reconciler.Kind, queue.Depth);
    }

    /// <summary>Runs the workers until cancelled; keys in flight finish their reconcile first.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        LogStarted(reconciler.Kind, workers);
        var tasks = Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(cancellationToken), CancellationToken.None));
        await Task.WhenAll(tasks).ConfigureAwait(false);
        LogStopped(reconciler.Kind);
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            (bool Ok, ObjectKey Key) next;
            try
            {
                next = await queue.GetAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!next.Ok)
            {
                return;
            }

            metrics.QueueDepth(reconciler.Kind, queue.Depth);
            try
            {
                await ProcessAsync(next.Key, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                queue.Done(next.Key);
            }
        }
    }

    internal async Task ProcessAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        // Every line a reconcile logs (the reconciler's own included) carries its kind and key.
        using var scope = logger.BeginScope(new KeyValuePair<string, object>[] { new("kind", reconciler.Kind), new("key", key.ToString()) });
        var started = time.GetTimestamp();
        ReconcileResult result;
        try
        {
            result = await reconciler.ReconcileAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            queue.Add(key); // not finished: the next leader (or run) picks it up
            return;
        }
        catch (Exception e)
        {
            LogReconcileFailed(e, reconciler.Kind, key.ToString());
            result = ReconcileResult.Retry(e.Message);
        }

        var elapsed = time.GetElapsedTime(started);
        switch (result.Outcome)
        {
            case ReconcileOutcome.Done:
                queue.Forget(key);
                metrics.Reconciled(reconciler.Kind, "done", elapsed);
                break;
            case ReconcileOutcome.RequeueAfter:
                queue.Forget(key);
                queue.AddAfter(key, result.RequeueAfter ?? TimeSpan.Zero);
                metrics.Reconciled(reconciler.Kind, "requeue", elapsed);
                break;
            case ReconcileOutcome.Error:
                queue.AddRateLimited(key);
                metrics.Reconciled(reconciler.Kind, "error", elapsed);
                LogRetrying(reconciler.Kind, key.ToString(), queue.Failures(key), result.Message);
                break;
            case ReconcileOutcome.Conflict:
                queue.AddRateLimited(key);
                metrics.Reconciled(reconciler.Kind, "conflict", elapsed);
                LogConflict(reconciler.Kind, key.ToString(), result.Message);
                break;
            case ReconcileOutcome.Terminal:
                queue.Forget(key);
                metrics.Reconciled(reconciler.Kind, "terminal", elapsed);
                LogTerminal(reconciler.Kind, key.ToString(), result.Message);
                break;
            default:
                throw new UnreachableException();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started controller kind={Kind} workers={Workers}")]
    private partial void LogStarted(string kind, int workers);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped controller kind={Kind}")]
    private partial void LogStopped(string kind);

    [LoggerMessage(Level = LogLevel.Error, Message = "Failed reconcile kind={Kind} key={Key}")]
    private partial void LogReconcileFailed(Exception exception, string kind, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Requeued after error kind={Kind} key={Key} failures={Failures} error={Error}")]
    private partial void LogRetrying(string kind, string key, int failures, string? error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Requeued after a conflict kind={Kind} key={Key} reason={Reason}")]
    private partial void LogConflict(string kind, string key, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped retrying terminal error kind={Kind} key={Key} reason={Reason}")]
    private partial void LogTerminal(string kind, string key, string? reason);
}
