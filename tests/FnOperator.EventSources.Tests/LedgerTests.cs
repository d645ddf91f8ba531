using System.Collections.Concurrent;
using System.Text;
using FnOperator.Api;
using FnOperator.EventSources.Sources;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit.Abstractions;

namespace FnOperator.EventSources.Tests;

/// <summary>2,000 messages through a NATS queue mapping while the poller is killed and restarted twice: every message ends processed or dead-lettered.</summary>
public sealed class LedgerTests(ITestOutputHelper output)
{
    private const int Messages = 2000;

    [Fact]
    public async Task Ledger_every_message_ends_processed_or_dead_lettered_across_two_poller_kills()
    {
        await using var nats = await ServerProcess.NatsAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = nats.NatsUrl });
        var js = new NatsJSContext(client);
        await js.CreateStreamAsync(new StreamConfig("LEDGER", ["ledger"]) { Retention = StreamConfigRetention.Workqueue });
        await js.CreateStreamAsync(new StreamConfig("LEDGER_DLQ", ["ledger-dlq"]));
        for (var i = 0; i < Messages; i++)
        {
            (await js.PublishAsync("ledger", Encoding.UTF8.GetBytes($"msg-{i}"))).EnsureSuccess();
        }

        var processed = new ConcurrentDictionary<string, int>();
        var function = new TestFunction();
        function.Handler = doc =>
        {
            var poison = new List<string>();
            foreach (var r in doc.RootElement.GetProperty("Records").EnumerateArray())
            {
                var body = r.GetProperty("body").GetString()!;
                if (body.EndsWith("00", StringComparison.Ordinal))
                {
                    poison.Add(r.GetProperty("messageId").GetString()!); // msg-100, msg-200, …: always fail
                }
                else
                {
                    processed.AddOrUpdate(body, 1, (_, n) => n + 1);
                }
            }

            return TestFunction.Failures([.. poison]);
        };
        var settings = new PollerSettings
        {
            FunctionName = "default/f", BatchSize = 10, MaximumConcurrency = 4, ReportBatchItemFailures = true, MaximumRetryAttempts = 1,
            OnFailure = new Destination { Queue = "ledger-dlq" },
        };
        Poller NewPoller() => new(() => new NatsQueueSource(nats.NatsUrl, "ledger", "ledger-esm", "default", SourceCredentials.None, TimeSpan.FromSeconds(3)),
            settings, function, NullPollerObserver.Instance, TimeProvider.System);

        for (var kill = 1; kill <= 2; kill++)
        {
            var cts = new CancellationTokenSource();
            var run = Task.Run(() => NewPoller().RunAsync(cts.Token));
            var target = kill * Messages / 3;
            await Eventually.TrueAsync(() => processed.Count >= target, $"{target} processed before kill {kill}", 120);
            await cts.CancelAsync(); // killed mid-flight: batches invoked but not acked are redelivered after the ack wait
            await run.WaitAsync(TimeSpan.FromSeconds(60));
            cts.Dispose();
        }

        using var last = new CancellationTokenSource();
        _ = Task.Run(() => NewPoller().RunAsync(last.Token));
        var poisoned = Enumerable.Range(0, Messages).Count(i => $"msg-{i}".EndsWith("00", StringComparison.Ordinal));
        await Eventually.TrueAsync(async () => processed.Count == Messages - poisoned && (await Dlq(js)) >= poisoned, "every message processed or dead-lettered", 180);
        await Eventually.TrueAsync(async () => (await Remaining(js)) == 0, "the work queue empty", 60);
        await last.CancelAsync();

        var duplicates = processed.Values.Sum(n => n - 1);
        var dlq = await Dlq(js);
        output.WriteLine($"ledger: {Messages} messages, {processed.Count} processed, {dlq} dead-lettered ({poisoned} poison), {duplicates} duplicate deliveries (at-least-once)");
        Assert.Equal(Messages - poisoned, processed.Count);
        Assert.True(dlq >= poisoned, "every poison message dead-lettered");
        Assert.True(duplicates < Messages, "duplicates bounded by the batches in flight at each kill");
    }

    private static async Task<long> Dlq(NatsJSContext js) => (await js.GetStreamAsync("LEDGER_DLQ")).Info.State.Messages;

    private static async Task<long> Remaining(NatsJSContext js) => (await js.GetStreamAsync("LEDGER")).Info.State.Messages;
}
