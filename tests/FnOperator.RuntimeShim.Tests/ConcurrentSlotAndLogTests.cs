using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>The invocation slots and the log sink with several invocations at once (docs/concurrency.md).</summary>
public sealed class ConcurrentSlotAndLogTests
{
    private static Invocation Invocation(string id) => new()
    {
        RequestId = id, Namespace = "default", FunctionName = "fn", Version = "$LATEST", InvokedFunctionArn = "fn",
        Type = InvocationType.RequestResponse, Payload = [], AcceptedAt = DateTimeOffset.UtcNow,
    };

    [Fact]
    public async Task Slots_hold_up_to_their_capacity_and_route_answers_by_request_id()
    {
        var slot = new InvocationSlot(2);
        var a = slot.Dispatch(Invocation("a"), DateTimeOffset.UtcNow.AddMinutes(1));
        var b = slot.Dispatch(Invocation("b"), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Throws<InvalidOperationException>(() => slot.Dispatch(Invocation("c"), DateTimeOffset.UtcNow.AddMinutes(1)));
        Assert.Throws<InvalidOperationException>(() => slot.Dispatch(Invocation("a"), DateTimeOffset.UtcNow.AddMinutes(1)));
        var first = await slot.NextAsync(CancellationToken.None);
        var second = await slot.NextAsync(CancellationToken.None);
        Assert.Equal(["a", "b"], new[] { first.Invocation.RequestId, second.Invocation.RequestId });

        Assert.Equal(PostOutcome.Accepted, slot.TryComplete("b", new RuntimeReply(ReplyKind.Response, [2])));
        Assert.Equal(PostOutcome.UnknownRequestId, slot.TryComplete("zzz", new RuntimeReply(ReplyKind.Response, [9])));
        Assert.Equal(PostOutcome.AlreadyCompleted, slot.TryComplete("b", new RuntimeReply(ReplyKind.Response, [3])));
        Assert.Equal(PostOutcome.Accepted, slot.TryComplete("a", new RuntimeReply(ReplyKind.Response, [1])));
        Assert.Equal([1], (await a.Reply.Task).Body);
        Assert.Equal([2], (await b.Reply.Task).Body);
    }

    [Fact]
    public async Task Finishing_one_pending_invocation_keeps_the_others_deliverable()
    {
        var slot = new InvocationSlot(3);
        var lost = slot.Dispatch(Invocation("lost"), DateTimeOffset.UtcNow.AddMinutes(1));
        slot.Dispatch(Invocation("kept"), DateTimeOffset.UtcNow.AddMinutes(1));
        slot.Finish(lost);

        var delivered = await slot.NextAsync(CancellationToken.None);

        Assert.Equal("kept", delivered.Invocation.RequestId);
        Assert.Equal(1, slot.InFlight);
    }

    [Fact]
    public async Task A_late_answer_to_an_abandoned_invocation_is_refused_and_frees_its_lane()
    {
        var slot = new InvocationSlot(2);
        var slow = slot.Dispatch(Invocation("slow"), DateTimeOffset.UtcNow.AddMinutes(1));
        await slot.NextAsync(CancellationToken.None);
        slot.Finish(slow, abandoned: true);
        Assert.False(slow.LateAnswer.IsCompleted);

        Assert.Equal(PostOutcome.AlreadyCompleted, slot.TryComplete("slow", new RuntimeReply(ReplyKind.Response, [1])));

        Assert.True(slow.LateAnswer.IsCompleted);
    }

    [Fact]
    public async Task A_claim_is_granted_only_for_a_poll_no_other_lane_claimed_and_ends_at_delivery()
    {
        var slot = new InvocationSlot(2);
        var poll = slot.NextAsync(CancellationToken.None).AsTask();
        await slot.ClaimIdlePollAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        var second = slot.ClaimIdlePollAsync(CancellationToken.None);
        Assert.False(second.IsCompleted);

        slot.Dispatch(Invocation("x"), DateTimeOffset.UtcNow.AddMinutes(1), claimed: true);
        Assert.Equal("x", (await poll.WaitAsync(TimeSpan.FromSeconds(60))).Invocation.RequestId);
        Assert.False(second.IsCompleted);

        // A new poll is what the waiting lane gets.
        var again = slot.NextAsync(CancellationToken.None).AsTask();
        await second.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.False(again.IsCompleted);
    }

    [Theory]
    [InlineData("2026-12-01T10:00:00.000Z\tabc-123\tINFO\thello", "abc-123")]
    [InlineData("""{"timestamp":"2026-12-01T10:00:00.000Z","level":"INFO","requestId":"abc-123","message":"hi"}""", "abc-123")]
    [InlineData("plain output from a child process", "")]
    [InlineData("{\"message\":\"no id\"}", "")]
    [InlineData("one\ttab only", "")]
    public void A_runtime_line_names_its_request_id_in_lambdas_text_or_json_format(string line, string id) =>
        Assert.Equal(id, LogSink.RequestIdOf(line).ToString());

    [Fact]
    public void Each_concurrent_tail_holds_its_own_lines_and_unattributed_lines_only_reach_the_stream()
    {
        var output = new StringWriter();
        var sink = new LogSink(output);
        sink.BeginCapture("a");
        sink.BeginCapture("b");
        sink.WriteLine("START RequestId: a", "a");
        sink.WriteLine("t\ta\tINFO\tfrom a");
        sink.WriteLine("t\tb\tINFO\tfrom b");
        sink.WriteLine("stray line");
        sink.WriteLine("t\tgone\tINFO\tfrom a finished one");

        Assert.Equal("START RequestId: a\nt\ta\tINFO\tfrom a\n", sink.EndCapture("a"));
        Assert.Equal("t\tb\tINFO\tfrom b\n", sink.EndCapture("b"));
        Assert.Contains("stray line", output.ToString());
        Assert.Contains("from a finished one", output.ToString());
    }
}
