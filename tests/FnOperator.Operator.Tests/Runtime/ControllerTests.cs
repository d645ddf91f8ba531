using System.Collections.Concurrent;
using FnOperator.Operator.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace FnOperator.Operator.Tests.Runtime;

public sealed class ControllerTests : IAsyncDisposable
{
    private readonly FakeTimeProvider time = new();
    private readonly OperatorMetrics metrics = new(Metrics.NewCustomRegistry());
    private readonly ScriptedReconciler reconciler = new();
    private readonly CancellationTokenSource stop = new();
    private readonly WorkQueue<ObjectKey> queue;
    private readonly Controller controller;
    private readonly Task running;

    public ControllerTests()
    {
        queue = new WorkQueue<ObjectKey>(time, new WorkQueueOptions { BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(60) });
        controller = new Controller(reconciler, queue, 4, metrics, time, NullLogger<Controller>.Instance);
        running = Task.Run(() => controller.RunAsync(stop.Token));
    }

    private static readonly ObjectKey Key = new("default", "a");

    [Fact]
    public async Task Error_is_retried_with_growing_backoff_until_it_succeeds()
    {
        reconciler.Script(Key, ReconcileResult.Retry("boom"), ReconcileResult.Retry("boom"), ReconcileResult.Done);

        controller.Enqueue(Key);
        await Eventually.True(() => reconciler.Calls(Key) == 1 && queue.DelayedCount == 1, "first failure");
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => reconciler.Calls(Key) == 2 && queue.DelayedCount == 1, "second failure");
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, reconciler.Calls(Key)); // second backoff is 2 s
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => reconciler.Calls(Key) == 3, "success");

        await Eventually.True(() => queue.Failures(Key) == 0, "failures forgotten");
        Assert.Equal(2, metrics.ReconcileCount("Test", "error"));
        Assert.Equal(1, metrics.ReconcileCount("Test", "done"));
    }

    [Fact]
    public async Task Conflict_is_run_again_with_backoff_and_is_not_counted_as_an_error()
    {
        reconciler.Script(Key, ReconcileResult.Conflict("status moved on"), ReconcileResult.Done);

        controller.Enqueue(Key);
        await Eventually.True(() => reconciler.Calls(Key) == 1 && queue.DelayedCount == 1, "conflict requeued");
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => reconciler.Calls(Key) == 2, "run again");

        await Eventually.True(() => queue.Failures(Key) == 0, "backoff forgotten");
        Assert.Equal((1, 0, 1), (metrics.ReconcileCount("Test", "conflict"), metrics.ReconcileCount("Test", "error"), metrics.ReconcileCount("Test", "done")));
    }

    [Fact]
    public async Task Terminal_result_is_not_retried()
    {
        reconciler.Script(Key, ReconcileResult.Terminal("bad spec"));

        controller.Enqueue(Key);
        await Eventually.True(() => metrics.ReconcileCount("Test", "terminal") == 1, "terminal");
        time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(1, reconciler.Calls(Key));
        Assert.Equal(0, queue.DelayedCount);
    }

    [Fact]
    public async Task Requeue_after_brings_the_key_back_after_the_delay()
    {
        reconciler.Script(Key, ReconcileResult.After(TimeSpan.FromSeconds(30)), ReconcileResult.Done);

        controller.Enqueue(Key);
        await Eventually.True(() => queue.DelayedCount == 1, "requeued");
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(1, reconciler.Calls(Key));
        time.Advance(TimeSpan.FromSeconds(1));

        await Eventually.True(() => reconciler.Calls(Key) == 2, "second reconcile");
    }

    [Fact]
    public async Task Exception_counts_as_an_error_and_is_retried()
    {
        reconciler.Script(Key, null, ReconcileResult.Done); // null = throw

        controller.Enqueue(Key);
        await Eventually.True(() => metrics.ReconcileCount("Test", "error") == 1 && queue.DelayedCount == 1, "error");
        time.Advance(TimeSpan.FromSeconds(1));

        await Eventually.True(() => metrics.ReconcileCount("Test", "done") == 1, "retried");
    }

    [Fact]
    public async Task A_key_is_never_reconciled_by_two_workers_at_once()
    {
        reconciler.Slow = true;
        for (var i = 0; i < 50; i++)
        {
            controller.Enqueue(Key);
            controller.Enqueue(new ObjectKey("default", "other-" + (i % 5)));
            await Task.Yield();
        }

        await Eventually.True(() => reconciler.Calls(Key) >= 1 && queue.Depth == 0 && reconciler.InFlight == 0, "drained");
        Assert.Equal(1, reconciler.MaxConcurrentPerKey);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(10));
        queue.Dispose();
        stop.Dispose();
    }

    private sealed class ScriptedReconciler : IReconciler
    {
        private readonly ConcurrentDictionary<ObjectKey, ConcurrentQueue<ReconcileResult?>> scripts = new();
        private readonly ConcurrentDictionary<ObjectKey, int> calls = new();
        private readonly ConcurrentDictionary<ObjectKey, int> active = new();
        private int inFlight;

        public string Kind => "Test";

        public bool Slow { get; set; }

        public int MaxConcurrentPerKey { get; private set; }

        public int InFlight => Volatile.Read(ref inFlight);

        public void Script(ObjectKey key, params ReconcileResult?[] results) => scripts[key] = new ConcurrentQueue<ReconcileResult?>(results);

        public int Calls(ObjectKey key) => calls.GetValueOrDefault(key);

        public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref inFlight);
            var now = active.AddOrUpdate(key, 1, (_, n) => n + 1);
            lock (this)
            {
                MaxConcurrentPerKey = Math.Max(MaxConcurrentPerKey, now);
            }

            try
            {
                calls.AddOrUpdate(key, 1, (_, n) => n + 1);
                if (Slow)
                {
                    await Task.Delay(5, CancellationToken.None);
                }

                if (scripts.TryGetValue(key, out var script) && script.TryDequeue(out var result))
                {
                    return result ?? throw new InvalidOperationException("scripted failure");
                }

                return ReconcileResult.Done;
            }
            finally
            {
                active.AddOrUpdate(key, 0, (_, n) => n - 1);
                Interlocked.Decrement(ref inFlight);
            }
        }
    }
}
