using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Tests;

/// <summary>
/// The in-memory queue completes a hand-out and a sync caller's result after its lock, and their continuations run on the
/// completing thread (issue #19): they must never run under the lock, and a waiter that gives up must never lose or
/// duplicate an invocation handed out at the same moment.
/// </summary>
public sealed class QueueHandOffTests
{
    private static readonly FunctionKey Key = new("default", "f");
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    private static Invocation Invocation(string id, InvocationType type = InvocationType.Event) => new()
    {
        RequestId = id, Namespace = "default", FunctionName = "f", Version = "$LATEST", InvokedFunctionArn = "arn",
        Type = type, Payload = [], AcceptedAt = DateTimeOffset.UnixEpoch,
    };

    private static InvocationResult Result(string id) => new()
    {
        RequestId = id, Outcome = InvocationOutcome.Success, Payload = [7], ExecutedVersion = "$LATEST",
    };

    /// <summary>Another thread takes the queue's lock while the caller's continuation runs; false if it could not (the continuation held it).</summary>
    private static bool LockIsFree(InMemoryInvocationQueue queue) => Task.Run(() => queue.GetStats(Key)).Wait(Long);

    [Fact]
    public async Task A_waiting_worker_continues_on_the_enqueuing_thread_outside_the_queue_lock()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        var enqueuer = -1;
        async Task<(string? Id, int Thread, bool LockFree)> Worker()
        {
            // ConfigureAwait(false) as the gateway's code does (xUnit's context would post the continuation elsewhere).
            var invocation = await queue.NextAsync(Key, "$LATEST", Long, default).ConfigureAwait(false);
            return (invocation?.RequestId, Environment.CurrentManagedThreadId, LockIsFree(queue));
        }

        var worker = Worker(); // waits: nothing is queued yet
        Assert.False(worker.IsCompleted);

        // Enqueued from a pool thread, as the Invoke API does (xUnit's synchronization context would forbid inlining).
        await Task.Run(async () =>
        {
            enqueuer = Environment.CurrentManagedThreadId;
            await queue.EnqueueAsync(Invocation("a"), new EnqueueOptions(Long), default).ConfigureAwait(false);
        });

        var (id, thread, lockFree) = await worker.WaitAsync(Long);
        Assert.Equal("a", id);
        Assert.True(lockFree);
        Assert.Equal(enqueuer, thread);
        Assert.Equal(new QueueStats(0, 1, 0), queue.GetStats(Key));
    }

    [Fact]
    public async Task A_sync_caller_is_answered_outside_the_queue_lock_after_the_completion_was_acknowledged()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        var pending = await queue.EnqueueSyncAsync(Invocation("s", InvocationType.RequestResponse), new EnqueueOptions(Long), default);
        var leased = await queue.NextAsync(Key, "$LATEST", TimeSpan.Zero, default);
        var acknowledged = false;
        async Task<(byte[] Payload, bool Acknowledged, bool LockFree)> Caller()
        {
            var result = await pending.Result.ConfigureAwait(false);
            return (result.Payload, acknowledged, LockIsFree(queue));
        }

        var caller = Caller();
        Assert.False(caller.IsCompleted);
        Assert.True(await Task.Run(async () => await queue.CompleteAsync("s", leased!.LeaseToken!, Result("s"), () => acknowledged = true, default).ConfigureAwait(false)));

        var (payload, wasAcknowledged, lockFree) = await caller.WaitAsync(Long);
        Assert.Equal([7], payload);
        Assert.True(wasAcknowledged);
        Assert.True(lockFree);
        Assert.False(await queue.CompleteAsync("s", leased!.LeaseToken!, Result("s"), () => throw new InvalidOperationException("not in flight"), default));
    }

    [Fact]
    public async Task A_worker_whose_continuation_completes_and_polls_again_takes_the_next_invocation()
    {
        // The worker's continuation re-enters the queue (complete, next poll) while the enqueuer is still inside EnqueueAsync.
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        var ran = new List<string>();
        async Task Worker()
        {
            while (true)
            {
                var invocation = await queue.NextAsync(Key, "$LATEST", Long, default).ConfigureAwait(false);
                if (invocation is null || invocation.RequestId == "stop")
                {
                    return;
                }

                ran.Add(invocation.RequestId);
                await queue.CompleteAsync(invocation.RequestId, invocation.LeaseToken!, Result(invocation.RequestId), default).ConfigureAwait(false);
            }
        }

        var worker = Worker();
        var callers = new List<ISyncInvocation>();
        await Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                callers.Add(await queue.EnqueueSyncAsync(Invocation($"i{i}", InvocationType.RequestResponse), new EnqueueOptions(Long), default).ConfigureAwait(false));
            }

            await queue.EnqueueAsync(Invocation("stop"), new EnqueueOptions(Long), default).ConfigureAwait(false);
        });
        await worker.WaitAsync(Long);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"i{i}"), ran);
        foreach (var caller in callers)
        {
            Assert.Equal([7], (await caller.Result.WaitAsync(Long)).Payload);
        }
    }

    [Fact]
    public async Task A_wait_running_out_as_work_arrives_either_takes_it_or_leaves_it_queued_never_both_or_neither()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        for (var i = 0; i < 300; i++)
        {
            var id = $"e{i}";
            var wait = queue.NextAsync(Key, "$LATEST", TimeSpan.FromMilliseconds(1), default).AsTask();
            var enqueue = Task.Run(async () => await queue.EnqueueAsync(Invocation(id), new EnqueueOptions(Long), default));
            await enqueue.WaitAsync(Long);
            var taken = await wait.WaitAsync(Long);

            var invocation = taken ?? await queue.NextAsync(Key, "$LATEST", TimeSpan.Zero, default);
            Assert.Equal(id, invocation?.RequestId);
            Assert.Equal(new QueueStats(0, 1, 0), queue.GetStats(Key));
            Assert.True(await queue.CompleteAsync(id, invocation!.LeaseToken!, Result(id), default));
        }

        Assert.Equal(new QueueStats(0, 0, 0), queue.GetStats(Key));
    }

    [Fact]
    public async Task A_cancelled_waiter_returns_nothing_and_the_next_invocation_goes_to_a_live_waiter()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var live = queue.NextAsync(Key, "$LATEST", Long, default).AsTask();
        var cancelled = queue.NextAsync(Key, "$LATEST", Long, stop.Token).AsTask(); // the most recent: first in line
        await stop.CancelAsync();

        Assert.Null(await cancelled.WaitAsync(Long));
        await queue.EnqueueAsync(Invocation("a"), new EnqueueOptions(Long), default);
        Assert.Equal("a", (await live.WaitAsync(Long))?.RequestId);
        Assert.Null(await queue.NextAsync(Key, "$LATEST", TimeSpan.Zero, stop.Token));
    }
}
