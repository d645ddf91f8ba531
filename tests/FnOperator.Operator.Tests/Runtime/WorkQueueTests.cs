using FnOperator.Operator.Runtime;
using Microsoft.Extensions.Time.Testing;

namespace FnOperator.Operator.Tests.Runtime;

public sealed class WorkQueueTests
{
    private readonly FakeTimeProvider time = new();

    private WorkQueue<string> NewQueue(WorkQueueOptions? options = null) => new(time, options ?? new WorkQueueOptions());

    [Fact]
    public async Task Add_merges_an_item_already_waiting()
    {
        using var queue = NewQueue();
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");

        Assert.Equal(2, queue.Depth);
        Assert.Equal("a", (await queue.GetAsync(CancellationToken.None)).Item);
        Assert.Equal("b", (await queue.GetAsync(CancellationToken.None)).Item);
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task Item_added_while_processing_is_not_handed_out_again_until_done()
    {
        using var queue = NewQueue();
        queue.Add("a");
        var first = await queue.GetAsync(CancellationToken.None);

        queue.Add("a");
        Assert.Equal(0, queue.Depth); // a second worker cannot get it while the first holds it

        queue.Done(first.Item);
        Assert.Equal(1, queue.Depth);
        Assert.Equal("a", (await queue.GetAsync(CancellationToken.None)).Item);
    }

    [Fact]
    public async Task Done_without_a_new_add_does_not_requeue()
    {
        using var queue = NewQueue();
        queue.Add("a");
        var item = await queue.GetAsync(CancellationToken.None);
        queue.Done(item.Item);

        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public void AddAfter_hands_the_item_out_only_once_the_delay_passed()
    {
        using var queue = NewQueue();
        queue.AddAfter("a", TimeSpan.FromSeconds(10));

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(0, queue.Depth);
        Assert.Equal(1, queue.DelayedCount);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, queue.Depth);
        Assert.Equal(0, queue.DelayedCount);
    }

    [Fact]
    public void AddAfter_keeps_the_earliest_due_time()
    {
        using var queue = NewQueue();
        queue.AddAfter("a", TimeSpan.FromSeconds(10));
        queue.AddAfter("a", TimeSpan.FromSeconds(2));
        queue.AddAfter("a", TimeSpan.FromSeconds(30));

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, queue.Depth);
        Assert.Equal(0, queue.DelayedCount);

        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(1, queue.Depth); // the replaced timers did not add it again
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 10)]
    [InlineData(3, 20)]
    [InlineData(5, 80)]
    [InlineData(12, 1000)] // 5 ms × 2^11 = 10 s, capped at 1 s
    public async Task AddRateLimited_backs_off_exponentially_per_item_up_to_the_cap(int failures, int expectedMs)
    {
        using var queue = NewQueue(new WorkQueueOptions { BaseDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromSeconds(1), Burst = 1000 });
        for (var i = 1; i < failures; i++)
        {
            queue.AddRateLimited("a");
        }

        if (failures > 1)
        {
            time.Advance(TimeSpan.FromHours(1));
            await queue.GetAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            queue.Done("a");
        }

        queue.AddRateLimited("a");
        Assert.Equal(failures, queue.Failures("a"));
        time.Advance(TimeSpan.FromMilliseconds(expectedMs - 1));
        Assert.Equal(0, queue.Depth);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, queue.Depth);
    }

    [Fact]
    public void Forget_resets_the_backoff()
    {
        using var queue = NewQueue();
        queue.AddRateLimited("a");
        queue.AddRateLimited("a");
        queue.AddRateLimited("a");
        Assert.Equal(3, queue.Failures("a"));

        queue.Forget("a");

        Assert.Equal(0, queue.Failures("a"));
    }

    [Fact]
    public void Overall_bucket_paces_retries_once_the_burst_is_spent()
    {
        using var queue = NewQueue(new WorkQueueOptions { BaseDelay = TimeSpan.FromMilliseconds(1), RetriesPerSecond = 10, Burst = 2 });
        queue.AddRateLimited("a");
        queue.AddRateLimited("b");
        queue.AddRateLimited("c"); // third within the same instant: waits 100 ms for a token

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, queue.Depth);
        time.Advance(TimeSpan.FromMilliseconds(98));
        Assert.Equal(2, queue.Depth);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(3, queue.Depth);
    }

    [Fact]
    public async Task ShutDown_releases_waiting_workers()
    {
        using var queue = NewQueue();
        var waiting = queue.GetAsync(CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);

        queue.ShutDown();

        Assert.False((await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Ok);
        queue.Add("late");
        Assert.Equal(0, queue.Depth);
    }
}
