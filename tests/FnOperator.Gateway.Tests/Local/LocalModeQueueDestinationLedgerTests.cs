using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;
using Xunit.Abstractions;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// The ledger with queue destinations: two local-mode replicas on one JetStream queue, OnSuccess and OnFailure are
/// destination *queues* (on the JetStream destination stream), one replica is killed -9 mid-run, and every accepted
/// event must have exactly one terminal record, read through the surviving replica.
/// </summary>
public sealed class LocalModeQueueDestinationLedgerTests(ITestOutputHelper output) : IDisposable
{
    private const int Invocations = 120;
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(4);
    private readonly TempManifests dir = new();

    [Fact]
    public async Task Every_accepted_event_has_exactly_one_queue_destination_record_across_a_replica_kill()
    {
        await using var nats = await NatsServer.StartAsync();
        WriteFunction();
        string[] args = ["--queue", nats.Url, "--retry-base-delay-seconds", "0.2"];
        await using var a = await LocalModeProcess.StartAsync(dir.Root, args);
        await using var b = await LocalModeProcess.StartAsync(dir.Root, args);
        using var toA = new HttpClient { BaseAddress = new Uri(a.Endpoint), Timeout = TimeSpan.FromSeconds(30) };
        using var toB = new HttpClient { BaseAddress = new Uri(b.Endpoint), Timeout = TimeSpan.FromSeconds(30) };
        var accepted = new ConcurrentDictionary<string, int>();
        var aAlive = true;

        async Task SendAsync(int n)
        {
            var client = n % 2 == 0 && Volatile.Read(ref aAlive) ? toA : toB;
            try
            {
                using var response = await client.SendAsync(TestGateway.Invoke("sour", $$"""{"n":{{n}}}""", "Event"));
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    accepted[response.Headers.GetValues("x-amzn-RequestId").Single()] = n;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not accepted (the replica was killed): not in the ledger's scope.
            }
        }

        foreach (var chunk in Enumerable.Range(0, Invocations / 2).Chunk(10))
        {
            await Task.WhenAll(chunk.Select(SendAsync));
        }

        Volatile.Write(ref aAlive, false);
        await a.KillAloneAsync(Wait);
        foreach (var chunk in Enumerable.Range(Invocations / 2, Invocations / 2).Chunk(10))
        {
            await Task.WhenAll(chunk.Select(SendAsync));
        }

        var records = new ConcurrentDictionary<string, List<string>>();
        async Task DrainAsync()
        {
            foreach (var queue in new[] { "sour-ok", "sour-failed" })
            {
                var body = await toB.GetFromJsonAsync<JsonObject>($"/_fnop/v1/queues/{queue}/messages?max=100");
                foreach (var record in body!["messages"]!.AsArray())
                {
                    var id = (string)record!["requestContext"]!["requestId"]!;
                    records.GetOrAdd(id, _ => []).Add((string)record["requestContext"]!["condition"]!);
                }
            }
        }

        using (var patience = new CancellationTokenSource(Wait))
        {
            await DrainAsync();
            while (!accepted.Keys.All(records.ContainsKey))
            {
                await Task.Delay(250, patience.Token);
                await DrainAsync();
            }
        }

        // Late duplicates (redeliveries of what the killed replica held) would come after the first records.
        await Task.Delay(TimeSpan.FromSeconds(10));
        await DrainAsync();

        output.WriteLine($"accepted {accepted.Count}/{Invocations}, records {records.Count}");
        Assert.True(accepted.Count > Invocations / 2, $"only {accepted.Count} of {Invocations} accepted");
        Assert.All(accepted, kv => Assert.Equal([kv.Value % 3 == 0 ? "RetriesExhausted" : "Success"], records[kv.Key]));
        Assert.All(records, r => Assert.Single(r.Value));
    }

    private void WriteFunction() => dir.NodeFunction("sour", "sour", """
        timeoutSeconds: 5
        scaling:
          maxReplicas: 2
        async:
          maximumRetryAttempts: 1
          destinations:
            onSuccess:
              queue: sour-ok
            onFailure:
              queue: sour-failed
        """, """
        exports.handler = async (event) => {
          if (event.n % 3 === 0) { throw new Error("fails a third of the time: " + event.n); }
          return { ok: event.n };
        };
        """);

    public void Dispose() => dir.Dispose();
}
