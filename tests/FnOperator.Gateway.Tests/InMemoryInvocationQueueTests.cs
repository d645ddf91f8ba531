using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;
using Microsoft.Extensions.Time.Testing;

namespace FnOperator.Gateway.Tests;

public sealed class InMemoryInvocationQueueTests
{
    private static readonly FunctionKey Key = new("default", "f");
    private static readonly TimeSpan NoWait = TimeSpan.Zero;

    private static Invocation Invocation(string id, InvocationType type = InvocationType.Event) => new()
    {
        RequestId = id, Namespace = "default", FunctionName = "f", Version = "$LATEST", InvokedFunctionArn = "arn",
        Type = type, Payload = [], AcceptedAt = DateTimeOffset.UnixEpoch,
    };

    private static InvocationResult Result(string id) => new()
    {
        RequestId = id, Outcome = InvocationOutcome.Success, Payload = [1], ExecutedVersion = "$LATEST",
    };

    [Fact]
    public async Task Version_stats_count_each_versions_leases_through_hand_out_completion_release_and_lease_expiry()
    {
        var time = new FakeTimeProvider();
        using var queue = new InMemoryInvocationQueue(time);
        var options = new EnqueueOptions(TimeSpan.FromSeconds(10));
        await queue.EnqueueAsync(Invocation("a"), options, default);
        await queue.EnqueueAsync(Invocation("b"), options, default);
        await queue.EnqueueAsync(Invocation("c") with { Version = "2" }, options, default);
        await queue.EnqueueAsync(Invocation("d") with { Version = "2" }, options, default);

        var a = await queue.NextAsync(Key, "$LATEST", NoWait, default);
        var b = await queue.NextAsync(Key, "$LATEST", NoWait, default);
        var c = await queue.NextAsync(Key, "2", NoWait, default);
        Assert.Equal(new QueueStats(0, 2, 0), queue.GetVersionStats(Key)["$LATEST"]);
        Assert.Equal(new QueueStats(1, 1, 0), queue.GetVersionStats(Key)["2"]);

        Assert.True(await queue.CompleteAsync("a", a!.LeaseToken!, Result("a"), default));
        Assert.True(await queue.ReleaseAsync("c", c!.LeaseToken!, default)); // back at the head of version 2
        Assert.Equal(new QueueStats(0, 1, 0), queue.GetVersionStats(Key)["$LATEST"]);
        Assert.Equal(new QueueStats(2, 0, 0), queue.GetVersionStats(Key)["2"]);

        time.Advance(TimeSpan.FromSeconds(11)); // b's lease expires: b is queued again
        var again = await queue.NextAsync(Key, "2", NoWait, default);
        Assert.Equal("c", again?.RequestId);
        Assert.Equal(new QueueStats(1, 0, 0), queue.GetVersionStats(Key)["$LATEST"]);
        Assert.Equal(new QueueStats(1, 1, 0), queue.GetVersionStats(Key)["2"]);
        Assert.Equal(new QueueStats(2, 1, 0), queue.GetStats(Key));
        Assert.False(await queue.CompleteAsync("b", b!.LeaseToken!, Result("b"), default));
    }

    [Fact]
    public async Task Expired_lease_puts_the_event_back_at_the_head_and_the_old_lease_no_longer_completes()
    {
        var time = new FakeTimeProvider();
        using var queue = new InMemoryInvocationQueue(time);
        await queue.EnqueueAsync(Invocation("a"), new EnqueueOptions(TimeSpan.FromSeconds(10)), default);
        await queue.EnqueueAsync(Invocation("b"), new EnqueueOptions(TimeSpan.FromSeconds(10)), default);

        var first = await queue.NextAsync(Key, "$LATEST", NoWait, default);
        Assert.Equal("a", first?.RequestId);
        Assert.Equal(new QueueStats(1, 1, 0), queue.GetStats(Key));
        time.Advance(TimeSpan.FromSeconds(11));

        var second = await queue.NextAsync(Key, "$LATEST", NoWait, default);
        Assert.Equal("a", second?.RequestId);
        Assert.NotEqual(first!.LeaseToken, second!.LeaseToken);
        Assert.False(await queue.CompleteAsync("zzz", second.LeaseToken!, Result("zzz"), default));
        Assert.False(await queue.CompleteAsync("a", first.LeaseToken!, Result("a"), default));
        Assert.True(await queue.CompleteAsync("a", second.LeaseToken!, Result("a"), default));
        Assert.False(await queue.CompleteAsync("a", second.LeaseToken!, Result("a"), default));
        Assert.Equal(new QueueStats(1, 0, 0), queue.GetStats(Key));
    }

    [Fact]
    public async Task Expired_lease_of_a_sync_invocation_answers_the_caller_with_an_error_instead_of_running_it_again()
    {
        var time = new FakeTimeProvider();
        using var queue = new InMemoryInvocationQueue(time);
        var pending = await queue.EnqueueSyncAsync(Invocation("s", InvocationType.RequestResponse), new EnqueueOptions(TimeSpan.FromSeconds(10)), default);

        var leased = await queue.NextAsync(Key, "$LATEST", NoWait, default);
        time.Advance(TimeSpan.FromSeconds(11));

        var result = await pending.Result.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(LeaseLost.ErrorType, result.ErrorType);
        Assert.Null(await queue.NextAsync(Key, "$LATEST", NoWait, default));
        Assert.False(await queue.CompleteAsync("s", leased!.LeaseToken!, Result("s"), default));
        Assert.Equal(new QueueStats(0, 0, 0), queue.GetStats(Key));
    }

    [Fact]
    public async Task Delayed_invocation_is_not_handed_out_before_its_delay()
    {
        var time = new FakeTimeProvider();
        using var queue = new InMemoryInvocationQueue(time);
        await queue.EnqueueAsync(Invocation("later"), new EnqueueOptions(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1)), default);

        Assert.Null(await queue.NextAsync(Key, "$LATEST", NoWait, default));
        Assert.Equal(1, queue.GetStats(Key).Depth);
        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal("later", (await queue.NextAsync(Key, "$LATEST", NoWait, default))?.RequestId);
    }

    [Fact]
    public async Task Concurrency_limit_holds_back_work_until_a_slot_frees()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        queue.SetConcurrencyLimit(Key, 1);
        await queue.EnqueueAsync(Invocation("a"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);
        await queue.EnqueueAsync(Invocation("b"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);

        var a = await queue.NextAsync(Key, "$LATEST", NoWait, default);
        Assert.Equal("a", a?.RequestId);
        var second = queue.NextAsync(Key, "$LATEST", TimeSpan.FromSeconds(60), default).AsTask();
        Assert.False(second.IsCompleted);
        await queue.CompleteAsync("a", a!.LeaseToken!, Result("a"), default);

        Assert.Equal("b", (await second.WaitAsync(TimeSpan.FromSeconds(60)))?.RequestId);
    }

    [Fact]
    public async Task Sync_invocation_completes_its_waiter_and_can_be_withdrawn_only_before_it_runs()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        var running = await queue.EnqueueSyncAsync(Invocation("s1", InvocationType.RequestResponse), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);
        var waiting = await queue.EnqueueSyncAsync(Invocation("s2", InvocationType.RequestResponse), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);
        Assert.Equal(2, queue.GetStats(Key).WaitingSync);

        var s1 = await queue.NextAsync(Key, "$LATEST", NoWait, default);
        Assert.True(running.Running);
        Assert.False(running.TryWithdraw());
        Assert.True(waiting.TryWithdraw());
        Assert.Equal(new QueueStats(0, 1, 0), queue.GetStats(Key));
        await queue.CompleteAsync("s1", s1!.LeaseToken!, Result("s1"), default);

        Assert.Equal([1], (await running.Result.WaitAsync(TimeSpan.FromSeconds(60))).Payload);
        Assert.True(waiting.Result.IsCanceled);
        Assert.Null(await queue.NextAsync(Key, "$LATEST", NoWait, default));
    }

    [Fact]
    public async Task Work_arrived_signal_fires_for_the_function_on_enqueue()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        var signal = queue.WaitForWorkAsync(Key, default);
        Assert.False(signal.IsCompleted);

        await queue.EnqueueAsync(Invocation("x"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);

        await signal.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(queue.WaitForWorkAsync(Key, default).IsCompleted);
    }

    [Fact]
    public async Task Work_a_waiting_worker_takes_at_once_raises_no_work_arrived_and_counts_as_a_hand_out()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        var arrivals = 0;
        queue.WorkArrived += _ => Interlocked.Increment(ref arrivals);
        var waiting = queue.NextAsync(Key, "$LATEST", TimeSpan.FromMinutes(1), default).AsTask();
        Assert.Equal(0, queue.HandOuts(Key, "$LATEST"));

        await queue.EnqueueAsync(Invocation("taken"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);

        var taken = await waiting.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("taken", taken!.RequestId);
        Assert.Equal(0, Volatile.Read(ref arrivals)); // no instance needs starting: the scalers are not woken
        Assert.Equal(1, queue.HandOuts(Key, "$LATEST"));

        // The next one finds no waiting worker: it waits in the queue, and the scalers hear of it.
        await queue.EnqueueAsync(Invocation("queued"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);
        Assert.Equal(1, Volatile.Read(ref arrivals));
        Assert.Equal(1, queue.HandOuts(Key, "$LATEST"));
        Assert.Equal("queued", (await queue.NextAsync(Key, "$LATEST", NoWait, default))!.RequestId);
        Assert.Equal(2, queue.HandOuts(Key, "$LATEST"));
        Assert.Equal(0, queue.HandOuts(Key, "2"));
    }

    [Fact]
    public async Task Work_past_the_concurrency_limit_raises_work_arrived_though_a_worker_waits()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        queue.SetConcurrencyLimit(Key, 1);
        var arrivals = 0;
        queue.WorkArrived += _ => Interlocked.Increment(ref arrivals);
        await queue.EnqueueAsync(Invocation("running"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);
        Assert.NotNull(await queue.NextAsync(Key, "$LATEST", NoWait, default));
        var waiting = queue.NextAsync(Key, "$LATEST", TimeSpan.FromMinutes(1), default).AsTask();

        await queue.EnqueueAsync(Invocation("held"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);

        Assert.Equal(2, Volatile.Read(ref arrivals));
        Assert.False(waiting.IsCompleted);
    }

    [Fact]
    public async Task Versions_are_separate_lanes()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        await queue.EnqueueAsync(Invocation("latest"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);

        Assert.Null(await queue.NextAsync(Key, "2", NoWait, default));
        Assert.Equal("latest", (await queue.NextAsync(Key, "$LATEST", NoWait, default))?.RequestId);
    }

    [Fact]
    public async Task Most_recently_arrived_worker_takes_the_next_invocation_and_the_longest_waiting_stays_idle()
    {
        using var queue = new InMemoryInvocationQueue(TimeProvider.System);
        var oldest = queue.NextAsync(Key, "$LATEST", TimeSpan.FromSeconds(60), default).AsTask();
        var newest = queue.NextAsync(Key, "$LATEST", TimeSpan.FromSeconds(60), default).AsTask();

        await queue.EnqueueAsync(Invocation("a"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);

        Assert.Equal("a", (await newest.WaitAsync(TimeSpan.FromSeconds(60)))?.RequestId);
        Assert.False(oldest.IsCompleted);
        await queue.EnqueueAsync(Invocation("b"), new EnqueueOptions(TimeSpan.FromMinutes(1)), default);
        Assert.Equal("b", (await oldest.WaitAsync(TimeSpan.FromSeconds(60)))?.RequestId);
    }
}
