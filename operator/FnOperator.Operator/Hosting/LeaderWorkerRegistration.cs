using FnOperator.Contracts;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Hosting;

/// <summary>
/// Runs one <typeparamref name="TWorker"/> per cached <typeparamref name="TKind"/> while this replica leads: started for
/// each object when leading begins or the object appears, restarted (after the old run has stopped) when
/// <c>restartWhen</c> says the object changed, stopped when it is deleted, and all stopped when the lease is lost.
/// </summary>
internal sealed partial class LeaderWorkerRegistration<TWorker, TKind> : ILeaderTask
    where TWorker : IObjectWorker<TKind>
    where TKind : class, IKubernetesObject<V1ObjectMeta>
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromMinutes(1);

    private readonly Lock gate = new();
    private readonly Dictionary<ObjectKey, Run> runs = [];
    private readonly Informer<TKind> informer;
    private readonly TWorker worker;
    private readonly Func<TKind?, TKind, bool> restartWhen;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private CancellationToken leading = new(canceled: true);

    public LeaderWorkerRegistration(Informer<TKind> informer, TWorker worker, Func<TKind?, TKind, bool> restartWhen, TimeProvider time, ILogger logger)
    {
        this.informer = informer;
        this.worker = worker;
        this.restartWhen = restartWhen;
        this.time = time;
        this.logger = logger;
        informer.Upserted += (old, obj) =>
        {
            if (old is null || restartWhen(old, obj))
            {
                Start(obj);
            }
        };
        informer.Deleted += obj => Stop(ObjectKey.Of(obj));
    }

    public string Name => $"{typeof(TWorker).Name}/{informer.Kind}";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            leading = cancellationToken;
        }

        foreach (var obj in informer.List())
        {
            Start(obj);
        }

        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        Task[] stopping;
        lock (gate)
        {
            stopping = [.. runs.Values.Select(r => r.Task)];
            foreach (var run in runs.Values)
            {
                run.Stop();
            }

            runs.Clear();
        }

        await Task.WhenAll(stopping).ConfigureAwait(false);
    }

    private void Start(TKind obj)
    {
        var key = ObjectKey.Of(obj);
        lock (gate)
        {
            if (leading.IsCancellationRequested)
            {
                return;
            }

            var previous = runs.GetValueOrDefault(key);
            previous?.Stop();
            var cancel = CancellationTokenSource.CreateLinkedTokenSource(leading);
            var task = Task.Run(() => RunWorkerAsync(obj, previous?.Task, cancel.Token), CancellationToken.None);
            runs[key] = new Run(cancel, task);
        }
    }

    private void Stop(ObjectKey key)
    {
        lock (gate)
        {
            if (runs.Remove(key, out var run))
            {
                run.Stop();
            }
        }
    }

    private async Task RunWorkerAsync(TKind obj, Task? previous, CancellationToken cancellationToken)
    {
        if (previous is not null)
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        var key = ObjectKey.Of(obj).ToString();
        for (var failures = 0; !cancellationToken.IsCancellationRequested;)
        {
            try
            {
                LogStarted(Name, key);
                await worker.RunAsync(obj, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var delay = Backoff.Jittered(++failures, FirstRetry, MaxRetry);
                LogFailed(e, Name, key, delay.TotalMilliseconds);
                try
                {
                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private sealed record Run(CancellationTokenSource Cancel, Task Task)
    {
        // Called once, under the gate, when the run is replaced or removed; the task sees the cancelled token.
        public void Stop()
        {
            Cancel.Cancel();
            Cancel.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started worker worker={Worker} key={Key}")]
    private partial void LogStarted(string worker, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Restarting failed worker worker={Worker} key={Key} backoffMs={BackoffMs}")]
    private partial void LogFailed(Exception exception, string worker, string key, double backoffMs);
}
