using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;
using Xunit.Abstractions;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// The ledger: 1,000 async invocations of a function that fails a third of the time, through two gateway replicas
/// (two local-mode processes on one JetStream queue, each with its real shims and node runtimes), while the test
/// kill -9s one replica, a shim and a runtime and restarts nats-server once. Every accepted invocation must end in
/// exactly one terminal record (OnSuccess or OnFailure destination function, which files it by source request id).
/// </summary>
public sealed class LocalModeLedgerTests(ITestOutputHelper output) : IDisposable
{
    private const int Invocations = 1000;
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan SyncCallerTimeout = TimeSpan.FromSeconds(90);
    private readonly TempManifests dir = new();

    [Fact]
    public async Task Every_accepted_event_has_exactly_one_terminal_record_through_replica_shim_runtime_and_nats_crashes()
    {
        await using var nats = await NatsServer.StartAsync();
        var ledger = dir.SharedWritableFolder("records");
        WriteFunctions(ledger);
        string[] args = ["--queue", nats.Url, "--retry-base-delay-seconds", "0.2"];
        await using var a = await LocalModeProcess.StartAsync(dir.Root, args);
        await using var b = await LocalModeProcess.StartAsync(dir.Root, args);
        using var toA = new HttpClient { BaseAddress = new Uri(a.Endpoint), Timeout = TimeSpan.FromSeconds(30) };
        using var toB = new HttpClient { BaseAddress = new Uri(b.Endpoint), Timeout = TimeSpan.FromSeconds(30) };
        var accepted = new ConcurrentDictionary<string, int>();
        var refused = new ConcurrentBag<string>();
        var aAlive = true;

        async Task SendAsync(int n)
        {
            var client = n % 2 == 0 && Volatile.Read(ref aAlive) ? toA : toB;
            try
            {
                using var response = await client.SendAsync(TestGateway.Invoke("flaky", $$"""{"n":{{n}}}""", "Event"));
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    accepted[response.Headers.GetValues("x-amzn-RequestId").Single()] = n;
                }
                else
                {
                    refused.Add($"{(int)response.StatusCode}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not accepted (the replica was killed, or no answer in time): not in the ledger's scope.
                refused.Add(e.GetType().Name);
            }
        }

        var sent = 0;
        async Task SendBatchAsync(int count)
        {
            var batch = Enumerable.Range(sent, count).ToList();
            sent += count;
            foreach (var chunk in batch.Chunk(25))
            {
                await Task.WhenAll(chunk.Select(SendAsync));
            }
        }

        await SendBatchAsync(300);
        // A runtime first (its shim reports Runtime.ExitError and starts it again), then a shim (its runtime goes with it).
        await KillOneAsync("flaky", shim: false);
        await KillOneAsync("flaky", shim: true);
        await SendBatchAsync(200);

        // Sync callers on the replica about to die: answered or disconnected, never left hanging until their own
        // timeout (SyncCallerTimeout, far above the function's 5 s timeout and the 3 s it sleeps).
        using var syncToA = new HttpClient { BaseAddress = new Uri(a.Endpoint), Timeout = SyncCallerTimeout };
        var syncOnA = Enumerable.Range(0, 5).Select(async i =>
        {
            var watch = Stopwatch.StartNew();
            try
            {
                using var response = await syncToA.SendAsync(TestGateway.Invoke("flaky", $$"""{"n":{{1 + (3 * i)}},"sleepMs":3000}"""));
                return (Outcome: ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), watch.Elapsed);
            }
            catch (HttpRequestException)
            {
                return (Outcome: "connection error", watch.Elapsed);
            }
            catch (TaskCanceledException)
            {
                return (Outcome: "timed out", watch.Elapsed);
            }
        }).ToList();
        await Task.Delay(500);
        Volatile.Write(ref aAlive, false);
        await a.KillAloneAsync(Wait);
        // nats-server crashes and comes back while events arrive: those it cannot store are refused (500), never 202.
        var duringRestart = SendBatchAsync(200);
        await Task.Delay(300);
        await nats.RestartAsync();
        await duringRestart;
        await SendBatchAsync(Invocations - sent);

        var sync = await Task.WhenAll(syncOnA);
        try
        {
            await TestWait.UntilAsync(() => accepted.Keys.All(id => File.Exists(Path.Combine(ledger, id))), Wait);
        }
        catch (TimeoutException)
        {
            var missing = accepted.Where(kv => !File.Exists(Path.Combine(ledger, kv.Key))).ToList();
            output.WriteLine($"missing {missing.Count}: {string.Join(", ", missing.Take(20).Select(kv => $"{kv.Key} n={kv.Value}"))}");
            output.WriteLine(string.Join("\n", b.Lines(l => l.Contains("warn", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)).TakeLast(40)));
            throw;
        }

        // Late duplicates (redeliveries after the kills) would arrive after the first records: give them time.
        await Task.Delay(TimeSpan.FromSeconds(10));

        var records = accepted.ToDictionary(kv => kv.Key, kv => JsonNode.Parse(File.ReadAllText(Path.Combine(ledger, kv.Key)))!);
        var duplicates = File.Exists(Path.Combine(ledger, "_duplicates")) ? File.ReadAllLines(Path.Combine(ledger, "_duplicates")) : [];
        var unexpected = Directory.GetFiles(ledger).Select(Path.GetFileName).Where(f => f != "_duplicates" && !accepted.ContainsKey(f!)).ToList();
        output.WriteLine($"records for events never answered 202: {string.Join("; ", unexpected.Select(f => f + " " + File.ReadAllText(Path.Combine(ledger, f!))))}");
        output.WriteLine($"accepted {accepted.Count}/{Invocations} (refused: {string.Join(", ", refused.GroupBy(r => r.Split(' ')[0]).Select(g => $"{g.Count()}× {g.Key}"))}), records for unaccepted events {Directory.GetFiles(ledger).Length - accepted.Count}, " +
            $"sync callers of the killed replica: {string.Join(", ", sync.Select(s => $"{s.Outcome} after {s.Elapsed.TotalSeconds:0.0} s"))}");
        Assert.True(accepted.Count > Invocations / 2, $"only {accepted.Count} of {Invocations} accepted");
        Assert.Empty(duplicates);
        Assert.All(records, r => Assert.Equal(
            accepted[r.Key] % 3 == 0 ? "RetriesExhausted" : "Success", (string?)r.Value["condition"]));
        Assert.All(sync, s => Assert.True(s.Outcome != "timed out" && s.Elapsed < SyncCallerTimeout, $"a sync caller of the killed replica hung until its timeout ({s.Elapsed})"));
        // A record for an event whose 202 was lost (the caller's connection failed) is allowed, no more than those.
        Assert.True(unexpected.Count <= refused.Count, $"{unexpected.Count} records for events never accepted");
    }

    private void WriteFunctions(string ledger)
    {
        dir.NodeFunction("flaky", "flaky", """
            timeoutSeconds: 5
            scaling:
              maxReplicas: 2
            async:
              maximumRetryAttempts: 2
              destinations:
                onSuccess:
                  function: ledger
                onFailure:
                  function: ledger
            """, """
            exports.handler = async (event) => {
              if (event.sleepMs) { await new Promise((r) => setTimeout(r, event.sleepMs)); }
              if (event.n % 3 === 0) { throw new Error("fails a third of the time: " + event.n); }
              return { ok: event.n };
            };
            """);
        dir.NodeFunction("ledger", "ledger", $$"""
            timeoutSeconds: 5
            scaling:
              maxReplicas: 2
            environment:
              - name: LEDGER
                value: "{{ledger}}"
            """, """
            const fs = require("fs");
            const path = require("path");
            exports.handler = async (record, context) => {
              const id = record.requestContext.requestId;
              const line = JSON.stringify({ record: context.awsRequestId, condition: record.requestContext.condition });
              try {
                fs.writeFileSync(path.join(process.env.LEDGER, id), line, { flag: "wx" });
              } catch (e) {
                if (e.code !== "EEXIST") { throw e; }
                const first = fs.readFileSync(path.join(process.env.LEDGER, id), "utf8");
                if (first !== line) { fs.appendFileSync(path.join(process.env.LEDGER, "_duplicates"), id + " " + first + " " + line + "\n"); }
              }
              return null;
            };
            """);
    }

    /// <summary>The function's shims (the JIT DLL or the Native AOT binary) or its runtimes (the others).</summary>
    private static List<int> Pids(string function, bool shim) => FunctionProcesses.Of(function).Where(pid => FunctionProcesses.ShimOrGone(pid) == shim).ToList();

    private static async Task KillOneAsync(string function, bool shim)
    {
        var deadline = DateTime.UtcNow + Wait;
        var pids = Pids(function, shim);
        while (pids.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            pids = Pids(function, shim);
        }

        Assert.NotEmpty(pids);
        using var kill = Process.Start("kill", ["-9", pids[0].ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public void Dispose() => dir.Dispose();
}
