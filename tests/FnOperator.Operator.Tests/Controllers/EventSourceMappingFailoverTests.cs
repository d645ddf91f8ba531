using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.EventSources.Tests;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>
/// Leader failover of a stream mapping, end to end: two operator replicas against the API test server and a real
/// nats-server; the leader is stopped mid-stream twice (a new standby joins after the first). The next leader's poller
/// continues from the checkpoint in the JetStream KV bucket: a ledger of every record the function was invoked with
/// shows no record lost, records first seen in stream order, and duplicates bounded by one batch per failover.
/// </summary>
public sealed class EventSourceMappingFailoverTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const int Records = 2000;
    private const int BatchSize = 10;

    private readonly Ledger ledger = new();
    private ServerProcess nats = null!;
    private OperatorHarness harness = null!;

    public async Task InitializeAsync()
    {
        nats = await ServerProcess.NatsAsync();
        var replica = 0;
        harness = await OperatorHarness.StartAsync(operators: 2, services: s => s.AddSingleton<IFunctionInvoker>(new Ledger.Replica(ledger, Interlocked.Increment(ref replica))));
    }

    public async Task DisposeAsync()
    {
        await harness.DisposeAsync();
        await nats.DisposeAsync();
    }

    [Fact]
    public async Task Stream_poller_continues_from_the_checkpoint_on_the_new_leader_without_loss_and_with_bounded_duplicates()
    {
        await using (var connection = await ConnectNatsAsync())
        {
            var js = new NatsJSContext(connection);
            await js.CreateStreamAsync(new StreamConfig("EVENTS", ["events.>"]));
            for (var i = 0; i < Records; i++)
            {
                (await js.PublishAsync("events.a", Encoding.UTF8.GetBytes($"r{i}"))).EnsureSuccess();
            }
        }

        await harness.CreateAsync(TestFunctions.Node("sink"));
        await harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(new EventSourceMapping
        {
            Metadata = new V1ObjectMeta { Name = "events", NamespaceProperty = "default" },
            Spec = new EventSourceMappingSpec
            {
                FunctionName = "sink",
                BatchSize = BatchSize,
                Source = new EventSource { Stream = new FnOperator.Api.StreamSource { Type = "nats", Url = nats.NatsUrl, StreamName = "EVENTS", StartingPosition = "TRIM_HORIZON" } },
            },
        }, "fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural);

        await Eventually.True(() => ledger.Distinct >= 400, "400 records processed by the first leader", 120);
        await StopLeaderAsync();
        await harness.StartReplicaAsync("operator-2");
        await Eventually.True(() => ledger.Distinct >= 1200, "1200 records processed after the first failover", 120);
        await StopLeaderAsync();
        await Eventually.True(() => ledger.Distinct == Records, "every record processed after the second failover", 180);

        var seen = ledger.Sequences.ToList();
        Assert.Equal(Enumerable.Range(1, Records).Select(i => (ulong)i), seen.Distinct().Order()); // nothing lost
        var firstSeen = seen.Distinct().ToList();
        Assert.Equal(firstSeen.Order(), firstSeen); // records reach the function for the first time in stream order
        var duplicates = seen.Count - Records;
        output.WriteLine($"{Records} records, 2 leader failovers, {duplicates} duplicate deliveries, replicas that invoked: {string.Join(",", ledger.Invokers.Keys.Order())}");
        Assert.InRange(duplicates, 0, 2 * BatchSize); // at most the batch in flight at each failover is replayed
        Assert.True(ledger.Invokers.Count >= 2, "more than one leader invoked the function");
    }

    private async Task StopLeaderAsync()
    {
        OperatorHarness.Replica? leader = null;
        await Eventually.True(() => (leader = harness.Replicas.SingleOrDefault(r => r.Manager.IsLeading)) is not null && ledger.InFlight > 0, "a leader mid-batch", 120);
        await leader!.StopAsync();
    }

    private async Task<NatsConnection> ConnectNatsAsync()
    {
        var connection = new NatsConnection(NatsOpts.Default with { Url = nats.NatsUrl });
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await connection.ConnectAsync();
                return connection;
            }
            catch (NatsException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }


    /// <summary>The function: records every stream sequence it is invoked with (at invocation start) and takes a few ms per batch.</summary>
    private sealed class Ledger
    {
        private readonly ConcurrentQueue<ulong> sequences = new();
        private readonly ConcurrentDictionary<ulong, byte> distinct = new();
        private int inFlight;

        public IEnumerable<ulong> Sequences => sequences;

        public int Distinct => distinct.Count;

        public int InFlight => Volatile.Read(ref inFlight);

        /// <summary>The operator replicas whose pollers invoked the function.</summary>
        public ConcurrentDictionary<int, byte> Invokers { get; } = new();

        private async Task<InvokeOutcome> InvokeAsync(int replica, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref inFlight);
            try
            {
                Invokers.TryAdd(replica, 0);
                using var doc = JsonDocument.Parse(payload);
                foreach (var record in doc.RootElement.GetProperty("Records").EnumerateArray())
                {
                    var seq = ulong.Parse(record.GetProperty("kinesis").GetProperty("sequenceNumber").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                    sequences.Enqueue(seq);
                    distinct.TryAdd(seq, 0);
                }

                await Task.Delay(10, cancellationToken);
                return new InvokeOutcome(200, null, null, "null"u8.ToArray());
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }

        /// <summary>One operator replica's Invoke client.</summary>
        public sealed class Replica(Ledger ledger, int id) : IFunctionInvoker
        {
            public Task<InvokeOutcome> InvokeAsync(string functionName, string? qualifier, ReadOnlyMemory<byte> payload, bool asynchronous, CancellationToken cancellationToken) =>
                ledger.InvokeAsync(id, payload, cancellationToken);
        }
    }
}
