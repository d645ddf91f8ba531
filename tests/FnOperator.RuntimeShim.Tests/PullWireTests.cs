using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>How the shim frames its pull protocol requests (issue #19: the gateway reads a declared length in one go).</summary>
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
}
