using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Contracts;
using FnOperator.Gateway.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Local;
using FnOperator.Gateway.Queue;
using FnOperator.Gateway.Streaming;
using FnOperator.Gateway.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// The in-memory source of in-process instances against a real gateway (Kestrel, the in-memory queue, the Invoke API):
/// what a caller of the Invoke API sees when an instance leases, completes, releases or is lost, as with the HTTP pull protocol.
/// </summary>
public sealed class InProcessInvocationSourceTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private TestGateway gateway = null!;

    public async Task InitializeAsync() => gateway = await TestGateway.StartAsync();

    public async Task DisposeAsync() => await gateway.DisposeAsync();

    private InProcessInvocationSource Source(FunctionKey key, string version = FunctionRegistry.Latest) => new(
        gateway.App.Services.GetRequiredService<PullCore>(), key, version, gateway.App.Services.GetRequiredService<ResponseStreams>(),
        NullLogger<InProcessInvocationSource>.Instance);

    private static async Task<Invocation> NextAsync(InProcessInvocationSource source)
    {
        using var timeout = new CancellationTokenSource(Wait);
        return await source.NextAsync(timeout.Token) ?? throw new InvalidOperationException("the source closed");
    }

    private static InvocationResult Result(Invocation invocation, string payload, string? functionError = null) => new()
    {
        RequestId = invocation.RequestId,
        Outcome = functionError is null ? InvocationOutcome.Success : InvocationOutcome.FunctionError,
        FunctionError = functionError,
        Payload = Encoding.UTF8.GetBytes(payload),
        ExecutedVersion = invocation.Version,
    };

    [Fact]
    public async Task A_sync_caller_gets_the_result_completed_through_the_source_and_the_lease_counts_as_in_flight()
    {
        var key = gateway.Add("sync-fn");
        var source = Source(key);
        var call = gateway.Client.SendAsync(TestGateway.Invoke("sync-fn", """{"n":1}"""));

        var invocation = await NextAsync(source);
        var queue = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        Assert.Equal(1, queue.GetStats(key).InFlight);
        Assert.Equal(1, source.Leased);
        Assert.Equal("""{"n":1}""", Encoding.UTF8.GetString(invocation.Payload));
        await source.CompleteAsync(invocation, Result(invocation, """{"answer":42}"""), CancellationToken.None);

        using var response = await call;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(42, (int)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["answer"]!);
        Assert.False(response.Headers.Contains("X-Amz-Function-Error"));
        Assert.Equal(0, queue.GetStats(key).InFlight);
        Assert.Equal(0, source.Leased);
    }

    [Fact]
    public async Task A_function_error_reaches_the_caller_with_its_header()
    {
        gateway.Add("err-fn");
        var source = Source(new FunctionKey(FunctionKey.DefaultNamespace, "err-fn"));
        var call = gateway.Client.SendAsync(TestGateway.Invoke("err-fn"));

        var invocation = await NextAsync(source);
        await source.CompleteAsync(invocation, Result(invocation, """{"errorType":"Error","errorMessage":"boom"}""", "Unhandled"), CancellationToken.None);

        using var response = await call;
        Assert.Equal("Unhandled", response.Headers.GetValues("X-Amz-Function-Error").Single());
        Assert.Equal("boom", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errorMessage"]);
    }

    [Fact]
    public async Task A_released_event_is_handed_out_again_and_runs_once_more()
    {
        var key = gateway.Add("event-fn");
        var source = Source(key);
        using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("event-fn", """{"e":1}""", "Event"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);

        var first = await NextAsync(source);
        await source.ReleaseAsync(first, CancellationToken.None);
        var again = await NextAsync(source);

        Assert.Equal(first.RequestId, again.RequestId);
        Assert.NotEqual(first.LeaseToken, again.LeaseToken);
        await source.CompleteAsync(again, Result(again, "null"), CancellationToken.None);
        await TestWait.UntilAsync(() => gateway.App.Services.GetRequiredService<IInvocationQueue>().GetStats(key) is { Depth: 0, InFlight: 0 }, Wait);
    }

    [Fact]
    public async Task A_lost_instance_answers_its_sync_caller_with_runtime_exit_error_and_leaves_an_event_to_its_lease()
    {
        var key = gateway.Add("lost-fn");
        var source = Source(key);
        var call = gateway.Client.SendAsync(TestGateway.Invoke("lost-fn"));
        var sync = await NextAsync(source);
        using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("lost-fn", "{}", "Event"));
        var queued = await NextAsync(source);

        await source.AbandonLeasesAsync();

        using var response = await call;
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("Unhandled", response.Headers.GetValues("X-Amz-Function-Error").Single());
        Assert.Equal(LeaseLost.ErrorType, (string?)body["errorType"]);
        Assert.Contains(sync.RequestId, (string?)body["errorMessage"], StringComparison.Ordinal);
        Assert.Equal(0, source.Leased);

        // The event is still leased (at least once: its lease expires and it is delivered again), not completed.
        var queue = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        Assert.NotNull(await queue.GetInFlightAsync(queued.RequestId, queued.LeaseToken!, CancellationToken.None));
    }

    [Fact]
    public async Task A_removed_function_closes_the_source()
    {
        var key = gateway.Add("gone-fn");
        var source = Source(key);
        gateway.Functions.Remove(key);

        using var timeout = new CancellationTokenSource(Wait);
        Assert.Null(await source.NextAsync(timeout.Token));
    }

    [Fact]
    public async Task A_stream_with_no_caller_waiting_is_refused_unread_so_the_shim_falls_back_to_the_result()
    {
        gateway.Add("buffered-fn");
        var source = Source(new FunctionKey(FunctionKey.DefaultNamespace, "buffered-fn"));
        var call = gateway.Client.SendAsync(TestGateway.Invoke("buffered-fn"));
        var invocation = await NextAsync(source);
        using var body = new MemoryStream(Encoding.UTF8.GetBytes("streamed"));

        Assert.False(await source.StreamAsync(invocation, "text/plain", body, CancellationToken.None));

        Assert.Equal(0, body.Position);
        await source.CompleteAsync(invocation, Result(invocation, "\"buffered\""), CancellationToken.None);
        using var response = await call;
        Assert.Equal("\"buffered\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_poll_cancelled_before_it_starts_throws_and_leaves_no_waiter_to_take_later_work()
    {
        var key = gateway.Add("cancel-fn");
        var source = Source(key);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.NextAsync(cancelled.Token));

        using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("cancel-fn", "{}", "Event"));
        var queue = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        Assert.Equal(1, queue.GetStats(key).Depth);
        Assert.Equal(0, queue.GetStats(key).InFlight);
    }
}
