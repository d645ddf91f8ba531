using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway.Async;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue.JetStream;
using FnOperator.Gateway.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace FnOperator.Gateway.Tests.Destinations;

/// <summary>Destination queues and DLQs on JetStream: shared by replicas, durable across gateway and NATS restarts, one record per completion.</summary>
public sealed class JetStreamDestinationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private static FunctionSpec FailOnce => new() { TimeoutSeconds = 3, Async = new AsyncSpec { MaximumRetryAttempts = 0 } };

    private static async Task<GatewayOptions> SharedOptionsAsync() =>
        TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, JetStream = (await NatsServer.Shared).Options() };

    [Fact]
    public async Task Dlq_record_written_through_one_replica_is_read_through_the_other_exactly_once()
    {
        var options = await SharedOptionsAsync();
        await using var a = await TestGateway.StartAsync(options, queue: QueueKind.JetStream);
        await using var b = await TestGateway.StartAsync(options, queue: QueueKind.JetStream);
        var key = a.Add("fail", FailOnce);
        b.Add("fail", FailOnce);
        await using var worker = new TestWorker(a.BaseAddress, key, inv => TestWorker.Fail(inv, "boom"));

        using var response = await a.Client.SendAsync(TestGateway.Invoke("fail", """{"n":1}""", "Event"));
        await WaitForDepthAsync(b, "default.fail.dlq", 1);
        var reads = await Task.WhenAll(a.ReceiveAsync("default.fail.dlq"), b.ReceiveAsync("default.fail.dlq"), b.ReceiveAsync("default.fail.dlq"));

        var record = Assert.Single(reads.SelectMany(r => r));
        Assert.Equal(response.Headers.GetValues("x-amzn-RequestId").Single(), (string?)record!["requestContext"]!["requestId"]);
        Assert.Equal(1, (int)record["requestPayload"]!["n"]!);
        Assert.Empty(await a.ReceiveAsync("default.fail.dlq"));
        Assert.Equal(0, await DepthAsync(b, "default.fail.dlq"));
    }

    [Fact]
    public async Task Dlq_records_survive_a_gateway_restart()
    {
        var options = await SharedOptionsAsync();
        await using (var first = await TestGateway.StartAsync(options, queue: QueueKind.JetStream))
        {
            var key = first.Add("fail", FailOnce);
            await using var worker = new TestWorker(first.BaseAddress, key, inv => TestWorker.Fail(inv, "boom"));
            for (var i = 0; i < 3; i++)
            {
                using var response = await first.Client.SendAsync(TestGateway.Invoke("fail", $$"""{"n":{{i}}}""", "Event"));
            }

            await WaitForDepthAsync(first, "default.fail.dlq", 3);
        }

        await using var second = await TestGateway.StartAsync(options, queue: QueueKind.JetStream);
        var records = await second.ReceiveAsync("default.fail.dlq", 10);

        Assert.Equal([0, 1, 2], records.Select(r => (int)r!["requestPayload"]!["n"]!).Order());
    }

    [Fact]
    public async Task Destination_record_survives_a_nats_server_restart()
    {
        await using var server = await NatsServer.StartAsync();
        var options = server.Options();
        await using var queue = NewQueue(options);
        await queue.StartAsync(CancellationToken.None);
        var destinations = new JetStreamDestinations(queue, options, 100, NullLogger<JetStreamDestinations>.Instance);
        await destinations.PublishAsync("orders.failed", "m1", """{"n":1}"""u8.ToArray(), CancellationToken.None);

        await server.RestartAsync();
        var received = await PollAsync(() => destinations.ReceiveAsync("orders.failed", 10, CancellationToken.None).AsTask());

        Assert.Equal("""{"n":1}""", System.Text.Encoding.UTF8.GetString(Assert.Single(received)));
    }

    [Fact]
    public async Task Completion_processed_twice_writes_one_record()
    {
        var options = await SharedOptionsAsync();
        await using var gateway = await TestGateway.StartAsync(options, queue: QueueKind.JetStream);
        var key = gateway.Add("fail", new FunctionSpec
        {
            TimeoutSeconds = 3,
            Async = new AsyncSpec { MaximumRetryAttempts = 0, Destinations = new DestinationConfig { OnFailure = new Destination { Queue = "failures" } } },
        });
        var processor = gateway.App.Services.GetRequiredService<AsyncInvocationProcessor>();
        var invocation = new Invocation
        {
            RequestId = Guid.NewGuid().ToString(),
            Namespace = key.Namespace,
            FunctionName = key.Name,
            Version = FunctionRegistry.Latest,
            InvokedFunctionArn = gateway.Functions.ArnOf(key),
            Type = InvocationType.Event,
            Payload = """{"n":5}"""u8.ToArray(),
            AcceptedAt = DateTimeOffset.UtcNow,
        };
        var result = new InvocationResult { RequestId = invocation.RequestId, Outcome = InvocationOutcome.FunctionError, Payload = [], ErrorType = "Boom", ExecutedVersion = FunctionRegistry.Latest };

        await processor.OnAttemptCompletedAsync(invocation, result, CancellationToken.None);
        await processor.OnAttemptCompletedAsync(invocation, result, CancellationToken.None);

        Assert.Equal(1, await DepthAsync(gateway, "failures"));
        var record = Assert.Single(await gateway.ReceiveAsync("failures"));
        Assert.Equal(invocation.RequestId, (string?)record!["requestContext"]!["requestId"]);
    }

    [Fact]
    public async Task Queue_names_with_dots_are_listed_with_their_depths()
    {
        var server = await NatsServer.Shared;
        var options = server.Options();
        await using var queue = NewQueue(options);
        await queue.StartAsync(CancellationToken.None);
        var destinations = new JetStreamDestinations(queue, options, 2, NullLogger<JetStreamDestinations>.Instance);
        for (var i = 0; i < 3; i++)
        {
            await destinations.PublishAsync("a.b-c_d", $"m{i}", [(byte)('0' + i)], CancellationToken.None);
        }

        await destinations.PublishAsync("x", "y", [1], CancellationToken.None);
        var depths = await destinations.DepthsAsync(CancellationToken.None);

        // Bounded per queue (capacity 2, discard old): the oldest record went.
        Assert.Equal(new Dictionary<string, long> { ["a.b-c_d"] = 2, ["x"] = 1 }, depths);
        Assert.Equal(["1", "2"], (await destinations.ReceiveAsync("a.b-c_d", 10, CancellationToken.None)).Select(m => System.Text.Encoding.ASCII.GetString(m)));
    }

    private static JetStreamInvocationQueue NewQueue(JetStreamOptions options) =>
        new(options, null, _ => TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), TimeProvider.System, NullLogger<JetStreamInvocationQueue>.Instance);

    private static async Task<long> DepthAsync(TestGateway gateway, string queue)
    {
        var body = await gateway.Client.GetFromJsonAsync<JsonObject>("/_fnop/v1/queues");
        return body!["queues"]![queue] is { } depth ? (long)depth : 0;
    }

    private static async Task WaitForDepthAsync(TestGateway gateway, string queue, long depth)
    {
        using var cts = new CancellationTokenSource(Patience);
        while (await DepthAsync(gateway, queue) < depth)
        {
            await Task.Delay(100, cts.Token);
        }
    }

    private static async Task<IReadOnlyList<byte[]>> PollAsync(Func<Task<IReadOnlyList<byte[]>>> receive)
    {
        using var cts = new CancellationTokenSource(Patience);
        while (true)
        {
            try
            {
                var messages = await receive();
                if (messages.Count > 0)
                {
                    return messages;
                }
            }
            catch (Exception ex) when (ex is NATS.Client.Core.NatsException or TimeoutException)
            {
                // Reconnecting after the restart.
            }

            await Task.Delay(200, cts.Token);
        }
    }
}
