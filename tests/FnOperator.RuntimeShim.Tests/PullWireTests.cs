using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// How the shim frames its pull protocol requests (issue #19: the gateway reads a declared length in one go) and how it
/// takes the next invocation in the answer to a result (<see cref="PullProtocol.NextAfterResultParameter"/>) from a
/// gateway that holds that whole answer, from one that sends its headers first (before issue #19's hold) and from one
/// that ignores the parameter (every other test's <see cref="PullServer"/>), and what it does when that answer is lost.
/// </summary>
public sealed class PullWireTests
{
    [Fact]
    public async Task A_result_is_posted_with_its_content_length_and_not_chunked()
    {
        await using var fn = await FunctionUnderTest.StartAsync(Client.NodeBootstrap);

        var first = await fn.InvokeAsync("ok", value: 3);
        var second = await fn.InvokeAsync("ok", value: 4);

        Assert.True(first.Outcome == InvocationOutcome.Success, first.Describe());
        Assert.True(second.Outcome == InvocationOutcome.Success, second.Describe());
        var framings = fn.Server.ResultFraming.ToArray();
        Assert.Equal(2, framings.Length);
        Assert.All(framings, f =>
        {
            Assert.Null(f.TransferEncoding);
            Assert.NotNull(f.ContentLength);
            Assert.Equal(f.BodyBytes, f.ContentLength);
            Assert.True(f.BodyBytes > 0);
        });
    }

    [Theory]
    [InlineData(NextAfterResultMode.Held)]
    [InlineData(NextAfterResultMode.EarlyHeaders)]
    public async Task The_next_invocation_comes_in_the_answer_to_the_result_whether_the_gateway_holds_it_whole_or_sends_headers_first(NextAfterResultMode mode)
    {
        await using var fn = await FunctionUnderTest.StartAsync(Client.NodeBootstrap);
        fn.Server.NextAfterResult = mode;

        var first = await fn.InvokeAsync("ok", value: 1);
        var held = await ReadHoldAsync(fn.Server);
        var second = await fn.InvokeAsync("ok", value: 2);

        Assert.True(first.Outcome == InvocationOutcome.Success, first.Describe());
        Assert.True(second.Outcome == InvocationOutcome.Success, second.Describe());
        Assert.Equal(first.RequestId, held);
        Assert.Equal(2, second.Json().GetProperty("value").GetInt32());
        Assert.Equal([first.RequestId], fn.Server.Delivered.ToArray());
        Assert.Equal([second.RequestId], fn.Server.DeliveredInResult.ToArray());
    }

    [Fact]
    public async Task A_result_whose_connection_is_cut_before_the_answer_is_posted_again_plainly_and_recorded()
    {
        await using var fn = await FunctionUnderTest.StartAsync(Client.NodeBootstrap);
        fn.Server.NextAfterResult = NextAfterResultMode.Held;
        fn.Server.CutResultsBeforeRecording(1);

        var result = await fn.InvokeAsync("ok", value: 7);

        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Equal(7, result.Json().GetProperty("value").GetInt32());
        Assert.Equal([(result.RequestId, true), (result.RequestId, false)], fn.Server.ResultPosts.ToArray());
    }

    [Fact]
    public async Task A_hold_cut_after_the_result_was_recorded_is_answered_by_a_plain_post_and_the_shim_takes_the_next_invocation()
    {
        await using var fn = await FunctionUnderTest.StartAsync(Client.NodeBootstrap);
        fn.Server.NextAfterResult = NextAfterResultMode.Held;
        fn.Server.CutHoldsAfterRecording = true;

        var first = await fn.InvokeAsync("ok", value: 1);
        await UntilAsync(() => fn.Server.ResultPosts.Count >= 2);
        fn.Server.CutHoldsAfterRecording = false;
        var second = await fn.InvokeAsync("ok", value: 2);

        Assert.True(first.Outcome == InvocationOutcome.Success, first.Describe());
        Assert.True(second.Outcome == InvocationOutcome.Success, second.Describe());
        Assert.Equal(2, second.Json().GetProperty("value").GetInt32());
        Assert.Equal([(first.RequestId, true), (first.RequestId, false)], fn.Server.ResultPosts.Take(2).ToArray());
        Assert.Equal(1, fn.Server.Delivered.Count(id => id == first.RequestId));
        Assert.False(fn.Shim.Exited.IsCompleted, fn.Shim.Errors);
    }

    [Fact]
    public async Task A_shim_stopping_during_a_hold_ends_it_at_once_and_exits_cleanly()
    {
        await using var fn = await FunctionUnderTest.StartAsync(Client.NodeBootstrap);
        fn.Server.NextAfterResult = NextAfterResultMode.Held;

        var result = await fn.InvokeAsync("ok", value: 1);
        var held = await ReadHoldAsync(fn.Server);
        fn.Shim.Terminate();

        Assert.Equal(0, await fn.Shim.Exited.WaitAsync(TimeSpan.FromSeconds(60)));
        await UntilAsync(() => fn.Server.HoldsAborted.Contains(held));
        Assert.Equal(result.RequestId, held);
        Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        Assert.Empty(fn.Server.DeliveredInResult);
    }

    private static async Task<string> ReadHoldAsync(PullServer server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await server.Holds.Reader.ReadAsync(timeout.Token);
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            await Task.Delay(50, timeout.Token);
        }
    }
}
