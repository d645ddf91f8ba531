using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The runtime's answer is taken under the slot's lock and handed to the runner after it, so the runner continues on the
/// posting thread (issue #19): never under the lock, and an answer racing a timeout is either the result or a late answer.
/// </summary>
public sealed class SlotHandOffTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    private static Invocation Invocation(string id) => InvocationSlotTests.Invocation(id);

    [Fact]
    public async Task The_runner_continues_on_the_posting_thread_outside_the_slot_lock()
    {
        var slot = new InvocationSlot();
        var active = slot.Dispatch(Invocation("a"), DateTimeOffset.UtcNow.AddMinutes(1));
        await slot.NextAsync(CancellationToken.None);
        async Task<(byte[] Body, int Thread, bool LockFree)> Runner()
        {
            // ConfigureAwait(false) as the shim's code does (xUnit's context would post the continuation elsewhere).
            var reply = await active.Reply.Task.ConfigureAwait(false);
            var lockFree = Task.Run(() => slot.InFlight).Wait(Long); // another thread takes the slot's lock meanwhile
            return (reply.Body, Environment.CurrentManagedThreadId, lockFree);
        }

        var runner = Runner();
        Assert.False(runner.IsCompleted);
        // Posted from a pool thread, as Kestrel runs the handler (xUnit's synchronization context would forbid inlining).
        var poster = -1;
        Assert.Equal(PostOutcome.Accepted, await Task.Run(() =>
        {
            poster = Environment.CurrentManagedThreadId;
            return slot.TryComplete("a", new RuntimeReply(ReplyKind.Response, [5]));
        }));

        var (body, thread, lockFree) = await runner.WaitAsync(Long);
        Assert.Equal([5], body);
        Assert.True(lockFree);
        Assert.Equal(poster, thread);
        Assert.True(slot.Finish(active));
        Assert.Equal(PostOutcome.AlreadyCompleted, slot.TryComplete("a", new RuntimeReply(ReplyKind.Response, [6])));
    }

    [Fact]
    public async Task An_answer_racing_a_timeout_is_either_the_result_or_a_late_answer_that_frees_the_lane()
    {
        var slot = new InvocationSlot(4);
        var results = 0;
        var late = 0;
        for (var i = 0; i < 500; i++)
        {
            var id = $"r{i}";
            var active = slot.Dispatch(Invocation(id), DateTimeOffset.UtcNow.AddMinutes(1));
            Assert.Same(active, await slot.NextAsync(CancellationToken.None));
            using var start = new Barrier(2);
            var post = Task.Run(() =>
            {
                start.SignalAndWait(Long);
                return slot.TryComplete(id, new RuntimeReply(ReplyKind.Response, [1]));
            });
            var timeout = Task.Run(() =>
            {
                start.SignalAndWait(Long);
                return slot.Finish(active, abandoned: true);
            });

            var outcome = await post.WaitAsync(Long);
            var answered = await timeout.WaitAsync(Long);
            if (answered)
            {
                // The answer won: it is the result, and the lane waits for no late answer.
                Assert.Equal(PostOutcome.Accepted, outcome);
                Assert.Equal([1], (await active.Reply.Task.WaitAsync(Long)).Body);
                Assert.False(active.LateAnswer.IsCompleted);
                results++;
            }
            else
            {
                // The timeout won: the answer was refused and counted as the late answer that frees the lane.
                Assert.Equal(PostOutcome.AlreadyCompleted, outcome);
                Assert.False(active.Reply.Task.IsCompleted);
                Assert.True(active.LateAnswer.IsCompleted);
                late++;
            }
        }

        Assert.Equal(500, results + late);
        Assert.Equal(0, slot.InFlight);
    }
}
