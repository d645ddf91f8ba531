using System.Diagnostics;
using System.Globalization;
using System.Text;
using FnOperator.Gateway.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit.Abstractions;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// The event-source ledger with a real kill: 2,000 messages on a NATS JetStream work queue (a real nats-server -js,
/// file storage) through an EventSourceMapping served by local mode (a real gateway process, its shims and node
/// runtimes) to a function that appends each record's body to a ledger file and reports a fixed subset (every message
/// whose number ends in 07) as batch item failures, so they go to the mapping's onFailure queue after the retry limit.
/// While batches are in flight the whole local-mode process tree is SIGKILLed twice and local mode is started again on
/// the same state folder and server. At the end every other message is in the ledger at least once, every poison
/// message is in the failure destination, and the work queue is empty. A killed batch is redelivered by JetStream
/// after the consumer's ack wait (<see cref="FnOperator.EventSources.SourceFactory.VisibilityTimeout"/>, 30 s: the
/// killed poller no longer sends in-progress acks).
/// </summary>
public sealed class LocalModeEventSourceLedgerTests(ITestOutputHelper output) : IDisposable
{
    private const int Messages = 2000;
    private const int BatchSize = 10;
    private const int Concurrency = 4;
    private const int Kills = 2;
    private const string Consumer = "fnop-esm-default-ledger";
    private readonly string function = "esm-ledger-" + Guid.NewGuid().ToString("N")[..8]; // its processes are found by name
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    // Redelivery after a kill waits for the 30 s ack wait; the machine is loaded: generous.
    private static readonly TimeSpan DrainWait = TimeSpan.FromMinutes(15);
    private readonly TempManifests dir = new();
    private readonly string state = Directory.CreateTempSubdirectory("fnop-test-state-").FullName;

    private static bool IsPoison(int i) => i % 100 == 7;

    private static string Body(int i) => $"msg-{i.ToString("D4", CultureInfo.InvariantCulture)}";

    [Fact]
    public async Task Every_queue_message_ends_in_the_ledger_or_the_failure_destination_across_two_sigkills_of_local_mode()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
        var js = new NatsJSContext(client);
        await js.CreateStreamAsync(new StreamConfig("LEDGER", ["ledger"]) { Retention = StreamConfigRetention.Workqueue, Storage = StreamConfigStorage.File });
        await js.CreateStreamAsync(new StreamConfig("LEDGER_DLQ", ["ledger-dlq"]) { Storage = StreamConfigStorage.File });
        for (var i = 0; i < Messages; i++)
        {
            (await js.PublishAsync("ledger", Encoding.UTF8.GetBytes(Body(i)))).EnsureSuccess();
        }

        var ledger = Path.Combine(dir.SharedWritableFolder("ledger"), "processed.txt");
        File.WriteAllText(ledger, "");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(ledger, (UnixFileMode)0x1B6); // rw-rw-rw-: the runtime may run as its own uid
        }

        WriteManifests(nats.Url, ledger);
        var environment = new Dictionary<string, string> { ["FNOP_LOCAL_STATE"] = state };

        var inFlightAtKill = new List<long>();
        for (var kill = 1; kill <= Kills; kill++)
        {
            // Messages a previous kill left delivered and unacked count as ack-pending until they are redelivered (after
            // the ack wait) and acked, so the in-flight figure at a kill may include them: it bounds duplicates from above.
            await using var local = await LocalModeProcess.StartAsync(dir.Root, environment);
            await local.WaitForLineAsync(l => l.Contains("EventSourceMapping default/ledger: polling ", StringComparison.Ordinal), Wait);
            // Kill at a third and two thirds of the ledger (absolute, so an overshoot of one run cannot push the next
            // target past what is left), at a moment batches are delivered and not acked.
            var target = kill * Messages / 3;
            await UntilAsync(async () => Lines(ledger).Count >= target && await AckPending(js) >= BatchSize, $"{target} ledger lines and a batch in flight before kill {kill}", local, DrainWait);
            var killed = await KillTreeAsync(local);
            var pending = await AckPending(js); // delivered to the killed poller and never acked: redelivered after the ack wait
            inFlightAtKill.Add(pending);
            output.WriteLine($"kill {kill}: {killed} processes SIGKILLed, ledger {Lines(ledger).Count} lines, {pending} messages in flight (delivered, not acked)");
            Assert.True(pending > 0, $"kill {kill} hit no batch in flight");
        }

        await using (var last = await LocalModeProcess.StartAsync(dir.Root, environment))
        {
            // The work queue is empty once every message was acked: after its ledger line, or after its dead-letter publish.
            await UntilAsync(async () => await Remaining(js) == 0 && await AckPending(js) == 0, "the work queue empty", last, DrainWait);
        }

        var lines = Lines(ledger);
        var counts = lines.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        var expected = Enumerable.Range(0, Messages).Where(i => !IsPoison(i)).Select(Body).ToList();
        var poison = Enumerable.Range(0, Messages).Where(IsPoison).Select(Body).ToList();
        var deadLettered = await DeadLettersAsync(js);
        var duplicates = counts.Values.Sum(n => n - 1);
        var bound = Kills * Concurrency * BatchSize;
        output.WriteLine($"ledger with SIGKILL: {Messages} messages ({poison.Count} poison), {counts.Count} distinct processed, {lines.Count} ledger lines, " +
            $"{duplicates} duplicate deliveries, {deadLettered.Count} dead-letter records ({deadLettered.Distinct().Count()} distinct), " +
            $"in flight at the kills: {string.Join(", ", inFlightAtKill)} (bound on duplicates: {Kills} kills × {Concurrency} batches × {BatchSize} = {bound})");

        None(expected.Where(b => !counts.ContainsKey(b)), "messages neither processed nor (being non-poison) dead-lettered: lost");
        None(poison.Where(counts.ContainsKey), "poison messages in the ledger"); // the function never appends one
        None(poison.Where(b => !deadLettered.Contains(b)), "poison messages not in the failure destination");
        None(deadLettered.Where(b => !poison.Contains(b)), "dead-lettered messages that were not poison");
        None(lines.Where(l => !expected.Contains(l)), "ledger lines that are no message's body");
        Assert.Equal(0, await Remaining(js));
        // At-least-once: only a message delivered and not acked when local mode was killed may run twice; at most
        // maximumConcurrency batches of batchSize are in flight per kill.
        Assert.True(duplicates <= inFlightAtKill.Sum(), $"{duplicates} duplicates, more than the {inFlightAtKill.Sum()} messages in flight at the kills");
        Assert.True(duplicates <= bound, $"{duplicates} duplicates > {bound}");
    }

    private static void None(IEnumerable<string> found, string what)
    {
        var list = found.ToList();
        Assert.True(list.Count == 0, $"{list.Count} {what}: {string.Join(", ", list.Take(20))}");
    }

    private async Task UntilAsync(Func<Task<bool>> condition, string what, LocalModeProcess local, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                output.WriteLine(local.Output);
                throw new TimeoutException($"{what}: not within {timeout.TotalMinutes} min");
            }

            await Task.Delay(250);
        }
    }

    private void WriteManifests(string natsUrl, string ledger)
    {
        dir.NodeFunction(function, function, $$"""
            timeoutSeconds: 60
            scaling:
              maxReplicas: 2
            environment:
              - name: LEDGER
                value: "{{ledger}}"
            """, """
            const fs = require("fs");
            exports.handler = async (event) => {
              const batchItemFailures = [];
              for (const r of event.Records) {
                if (/07$/.test(r.body)) { batchItemFailures.push({ itemIdentifier: r.messageId }); continue; }
                fs.appendFileSync(process.env.LEDGER, r.body + "\n"); // O_APPEND, one line per processed record
              }
              await new Promise((res) => setTimeout(res, 150)); // keep batches in flight
              return { batchItemFailures };
            };
            """);
        dir.Write("mapping.yaml", $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: EventSourceMapping
            metadata:
              name: ledger
            spec:
              functionName: {function}
              source:
                queue:
                  type: nats
                  url: {natsUrl}
                  subject: ledger
              batchSize: {BatchSize}
              functionResponseTypes: [ReportBatchItemFailures]
              maximumRetryAttempts: 1
              scalingConfig:
                maximumConcurrency: {Concurrency}
              destinationConfig:
                onFailure:
                  queue: ledger-dlq
            """);
    }

    private static List<string> Lines(string ledger) => [.. File.ReadAllLines(ledger).Where(l => l.Length > 0)];

    private static async Task<long> Remaining(NatsJSContext js) => (await js.GetStreamAsync("LEDGER")).Info.State.Messages;

    private static async Task<long> AckPending(NatsJSContext js)
    {
        try
        {
            return (await js.GetConsumerAsync("LEDGER", Consumer)).Info.NumAckPending;
        }
        catch (NatsJSApiException)
        {
            return 0; // the poller has not created its consumer yet
        }
    }

    private static async Task<List<string>> DeadLettersAsync(NatsJSContext js)
    {
        var count = (await js.GetStreamAsync("LEDGER_DLQ")).Info.State.Messages;
        var bodies = new List<string>();
        var consumer = await js.CreateOrderedConsumerAsync("LEDGER_DLQ");
        while (bodies.Count < count)
        {
            await foreach (var msg in consumer.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = (int)(count - bodies.Count), Expires = TimeSpan.FromSeconds(5) }))
            {
                bodies.Add(Encoding.UTF8.GetString(msg.Data ?? []));
            }
        }

        return bodies;
    }

    /// <summary>
    /// kill -9 of local mode's whole process tree at once (the gateway, its shims and their runtimes, found by parent
    /// pid), as a crash of the machine's service would; then checks nothing of it survives.
    /// </summary>
    private async Task<int> KillTreeAsync(LocalModeProcess local)
    {
        var tree = Descendants(local.ProcessId).Prepend(local.ProcessId).ToList();
        Assert.True(FunctionProcesses.Of(function).Count >= 2, "expected a shim and its runtime running");
        var kill = new ProcessStartInfo("kill") { ArgumentList = { "-KILL" } };
        foreach (var pid in tree)
        {
            kill.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
        }

        using (var killer = Process.Start(kill)!)
        {
            await killer.WaitForExitAsync();
        }

        await local.WaitForExitAsync(Wait);
        var left = await FunctionProcesses.WaitUntilAsync(function, p => p.Count == 0, Wait);
        Assert.True(left.Count == 0, $"still running after the kill: {string.Join(", ", left)}");
        await TestWait.UntilAsync(() => tree.All(pid => !Alive(pid)), Wait);
        return tree.Count;
    }

    private static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, List<int>>();
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(proc, "stat"));
                var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                (parents.TryGetValue(ppid, out var children) ? children : parents[ppid] = []).Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        var found = new List<int>();
        var next = new Queue<int>([root]);
        while (next.TryDequeue(out var pid))
        {
            foreach (var child in parents.GetValueOrDefault(pid) ?? [])
            {
                found.Add(child);
                next.Enqueue(child);
            }
        }

        return found;
    }

    // Alive and not a zombie (a killed child not yet reaped by its killed parent is reaped by init).
    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        dir.Dispose();
        try
        {
            Directory.Delete(state, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
