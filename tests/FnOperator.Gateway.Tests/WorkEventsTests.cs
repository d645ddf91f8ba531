using System.Net;
using FnOperator.Gateway.Tests.Support;
using FnOperator.Operator.Autoscaling;

namespace FnOperator.Gateway.Tests;

/// <summary>
/// The autoscaler's push channel, <c>GET /_fnop/v1/work-events</c>, read by the operator's own client
/// (<see cref="GatewayWorkEventsSource"/>): a version whose work arrives with nothing in flight is pushed; one whose
/// work a worker takes at once is not; the stream needs the inspection credential in serve mode.
/// </summary>
public sealed class WorkEventsTests
{
    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Work_arriving_for_a_version_at_zero_is_pushed_to_the_stream(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, ProtectQueueInspection = true }, queue: kind);
        var fn = "pushed-" + kind.ToString().ToLowerInvariant() + Guid.NewGuid().ToString("N")[..6];
        gateway.Add(fn);
        gateway.Add("other" + fn);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var source = new GatewayWorkEventsSource(http, gateway.BaseAddress, TestGateway.ClusterKey);
        var received = new List<VersionKey>();
        var reading = Task.Run(async () =>
        {
            await foreach (var key in source.ReadAsync(cts.Token))
            {
                lock (received)
                {
                    received.Add(key);
                }

                if (key.Function == fn)
                {
                    return;
                }
            }
        });

        // Keep enqueueing until the first push arrives (the stream may still be connecting for the first ones).
        while (!reading.IsCompleted)
        {
            using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke(fn, "{}", "Event"), cts.Token);
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            await Task.WhenAny(reading, Task.Delay(200, cts.Token));
        }

        await reading;
        lock (received)
        {
            Assert.Contains(new VersionKey("default", fn, "$LATEST"), received);
            Assert.DoesNotContain(received, k => k.Function == "other" + fn); // a version without work is not pushed
        }
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Work_for_a_version_with_an_invocation_in_flight_is_not_pushed(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, ProtectQueueInspection = true }, queue: kind);
        var busy = gateway.Add("busy", new FnOperator.Api.FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 300 });
        gateway.Add("marker1");
        gateway.Add("marker2");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = TestWorker.WithAsyncHandler(gateway.BaseAddress, busy, async i =>
        {
            await Task.WhenAny(release.Task, Task.Delay(TimeSpan.FromMinutes(2))); // held without a thread
            return (FnOperator.Contracts.InvocationResult?)TestWorker.Ok(i, "{}");
        });
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var received = new List<VersionKey>();
        var reading = Task.Run(async () =>
        {
            await foreach (var key in new GatewayWorkEventsSource(http, gateway.BaseAddress, TestGateway.ClusterKey).ReadAsync(cts.Token))
            {
                lock (received)
                {
                    received.Add(key);
                }
            }
        });
        int Count(string fn)
        {
            lock (received)
            {
                return received.Count(k => k.Function == fn);
            }
        }

        // Everything the stream produced before a marker's push arrives before it (one writer, in order).
        async Task FlushWithAsync(string marker)
        {
            while (Count(marker) == 0)
            {
                using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke(marker, "{}", "Event"), cts.Token);
                await Task.Delay(100, cts.Token);
            }
        }

        var queue = gateway.App.Services.GetRequiredService<FnOperator.Gateway.Queue.IInvocationQueue>();
        using var held = await gateway.Client.SendAsync(TestGateway.Invoke("busy", "{}", "Event"), cts.Token);
        await TestWait.UntilAsync(() => queue.GetVersionStats(busy).TryGetValue("$LATEST", out var s) && s.InFlight == 1);
        await FlushWithAsync("marker1");
        var before = Count("busy");

        for (var i = 0; i < 5; i++)
        {
            using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("busy", "{}", "Event"), cts.Token);
        }

        await FlushWithAsync("marker2");
        Assert.Equal(before, Count("busy"));
        release.TrySetResult();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
    }

    [Fact]
    public async Task The_stream_needs_the_inspection_credential()
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, ProtectQueueInspection = true });
        using var http = new HttpClient();
        var anonymous = await Assert.ThrowsAsync<HttpRequestException>(async () =>
        {
            await foreach (var _ in new GatewayWorkEventsSource(http, gateway.BaseAddress, null).ReadAsync(CancellationToken.None))
            {
            }
        });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        var wrong = await Assert.ThrowsAsync<HttpRequestException>(async () =>
        {
            await foreach (var _ in new GatewayWorkEventsSource(http, gateway.BaseAddress, "another-key-0123456789abcdef"u8.ToArray()).ReadAsync(CancellationToken.None))
            {
            }
        });
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
    }
}
