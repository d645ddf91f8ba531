using System.Net;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Queue;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>Sync requests that arrive before any worker exists are held (bounded), not failed.</summary>
public sealed class ColdStartTests
{
    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Sync_request_is_held_until_a_worker_starts_then_answered(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("cold");
        var queue = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        var workArrived = queue.WaitForWorkAsync(key, CancellationToken.None);

        var pending = gateway.Client.SendAsync(TestGateway.Invoke("cold", """{"wait":true}"""));
        await workArrived.WaitAsync(TimeSpan.FromSeconds(60));
        await TestWait.UntilAsync(() => queue.GetStats(key) == new QueueStats(1, 0, 1));
        Assert.False(pending.IsCompleted);
        await using var worker = new TestWorker(gateway.BaseAddress, key, TestWorker.Echo);

        using var response = await pending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"wait":true}""", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Sync_request_no_worker_starts_within_the_start_wait_gets_429_and_is_withdrawn(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { MaxStartWait = TimeSpan.FromMilliseconds(300) }, queue: kind);
        var key = gateway.Add("never");

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("never"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("ConcurrentInvocationLimitExceeded", (string?)body["Reason"]);
        await TestWait.UntilAsync(() => gateway.App.Services.GetRequiredService<IInvocationQueue>().GetStats(key) == new QueueStats(0, 0, 0));
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Sync_requests_beyond_the_waiting_bound_get_429_while_the_held_ones_complete(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, MaxWaitingSyncPerFunction = 2 }, queue: kind);
        var key = gateway.Add("bounded");
        var queue = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        var held = new[] { gateway.Client.SendAsync(TestGateway.Invoke("bounded", "1")), gateway.Client.SendAsync(TestGateway.Invoke("bounded", "2")) };
        await TestWait.UntilAsync(() => queue.GetStats(key).WaitingSync == 2);

        using var rejected = await gateway.Client.SendAsync(TestGateway.Invoke("bounded", "3"));
        await using var worker = new TestWorker(gateway.BaseAddress, key, TestWorker.Echo);
        var answers = await Task.WhenAll(held);

        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.Equal(["1", "2"], await Task.WhenAll(answers.Select(a => a.Content.ReadAsStringAsync())));
        Assert.Equal(2, worker.Received.Count);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Caller_that_disconnects_before_a_worker_starts_withdraws_its_invocation(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("impatient");
        var queue = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        using var cts = new CancellationTokenSource();

        var call = gateway.Client.SendAsync(TestGateway.Invoke("impatient"), cts.Token);
        await TestWait.UntilAsync(() => queue.GetStats(key).Depth == 1);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        await TestWait.UntilAsync(() => queue.GetStats(key).Depth == 0);
    }
}
