using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// START is written deferred (issue #19): it leaves with the invocation's next write (the runtime's first line, END and
/// REPORT, any other line), or with the memory sampler's tick while the runtime works silently; never after a line of the
/// invocation, never lost.
/// </summary>
public sealed class DeferredStartTests
{
    /// <summary>Records what reached the writer at each flush (one flush of the sink is one write(2) on stdout).</summary>
    private sealed class FlushRecorder : StringWriter
    {
        private int flushedUpTo;

        public List<string> Flushes { get; } = [];

        public override void Flush()
        {
            var text = ToString();
            if (text.Length > flushedUpTo)
            {
                Flushes.Add(text[flushedUpTo..]);
                flushedUpTo = text.Length;
            }
        }
    }

    private static string Lines(params string[] lines) => string.Concat(lines.Select(l => l + Environment.NewLine));

    [Fact]
    public void Start_end_and_report_of_an_invocation_that_wrote_nothing_leave_in_one_flush()
    {
        var output = new FlushRecorder();
        var sink = new LogSink(output);

        sink.WriteLineDeferred("START RequestId: a Version: $LATEST");
        Assert.Empty(output.Flushes);
        sink.WriteLines("END RequestId: a", "REPORT RequestId: a\tDuration: 1.00 ms\t");

        Assert.Equal([Lines("START RequestId: a Version: $LATEST", "END RequestId: a", "REPORT RequestId: a\tDuration: 1.00 ms\t")], output.Flushes);
    }

    [Fact]
    public void Deferred_start_goes_out_before_the_runtimes_first_line_in_the_same_flush()
    {
        var output = new FlushRecorder();
        var sink = new LogSink(output);

        sink.WriteLineDeferred("START RequestId: a Version: $LATEST");
        sink.Append("first line of the handler");
        sink.Append("second line");
        sink.Flush();
        sink.WriteLines("END RequestId: a", "REPORT RequestId: a\t");

        Assert.Equal(
            [Lines("START RequestId: a Version: $LATEST", "first line of the handler", "second line"), Lines("END RequestId: a", "REPORT RequestId: a\t")],
            output.Flushes);
    }

    [Fact]
    public void A_tick_flushes_a_deferred_start_once_and_nothing_when_nothing_waits()
    {
        var output = new FlushRecorder();
        var sink = new LogSink(output);
        sink.FlushDeferred();
        sink.WriteLine("outside");

        sink.WriteLineDeferred("START RequestId: a Version: $LATEST");
        sink.FlushDeferred();
        sink.FlushDeferred();

        Assert.Equal([Lines("outside"), Lines("START RequestId: a Version: $LATEST")], output.Flushes);
    }

    [Fact]
    public void Deferred_start_of_one_of_several_concurrent_invocations_is_in_its_log_tail_only()
    {
        var output = new FlushRecorder();
        var sink = new LogSink(output);
        sink.BeginCapture("a");
        sink.BeginCapture("b");

        sink.WriteLineDeferred("START RequestId: a Version: $LATEST", "a");
        sink.WriteLineDeferred("START RequestId: b Version: $LATEST", "b");
        sink.WriteLines("END RequestId: a", "REPORT RequestId: a\t", "a");

        Assert.Equal("START RequestId: a Version: $LATEST\nEND RequestId: a\nREPORT RequestId: a\t\n", sink.EndCapture("a"));
        Assert.Equal("START RequestId: b Version: $LATEST\n", sink.EndCapture("b"));
        Assert.Equal([Lines("START RequestId: a Version: $LATEST", "START RequestId: b Version: $LATEST", "END RequestId: a", "REPORT RequestId: a\t")], output.Flushes);
    }

    [Fact]
    public async Task Start_of_an_invocation_that_stays_silent_is_written_while_it_still_runs()
    {
        var release = Path.Combine(Path.GetTempPath(), "fnop-release-" + Guid.NewGuid().ToString("N"));
        await using var fn = await InlineFunction.StartAsync(Client.NodeBootstrap, "app.mjs", """
            import { existsSync } from "node:fs";
            export const handler = async (event) => {
              while (!existsSync(event.release)) {
                await new Promise((resolve) => setTimeout(resolve, 20));
              }
              return { released: true };
            };
            """);
        var invocation = fn.Server.Enqueue($$"""{"release":"{{release}}"}""");

        // Without the tick the START line would wait for END, which waits for the file the test creates below.
        await fn.Shim.WaitForLineAsync(l => l == $"START RequestId: {invocation.RequestId} Version: $LATEST");
        Assert.DoesNotContain($"END RequestId: {invocation.RequestId}", fn.Shim.Output, StringComparison.Ordinal);

        File.WriteAllText(release, "");
        try
        {
            var result = await fn.Server.ResultAsync(invocation.RequestId);
            Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
            await fn.Shim.WaitForLineAsync(l => l.StartsWith($"REPORT RequestId: {invocation.RequestId}\t", StringComparison.Ordinal));
            var lines = fn.Shim.Output.Split('\n').ToList();
            Assert.True(
                lines.IndexOf($"START RequestId: {invocation.RequestId} Version: $LATEST") < lines.IndexOf($"END RequestId: {invocation.RequestId}"),
                fn.Shim.Output);
        }
        finally
        {
            File.Delete(release);
        }
    }

    [Fact]
    public async Task Runtime_lines_of_an_invocation_come_between_its_start_and_its_end()
    {
        await using var fn = await FunctionUnderTest.StartAsync(Client.NodeBootstrap);
        var first = fn.Server.Enqueue("""{"action":"ok","value":"one"}""");
        var second = fn.Server.Enqueue("""{"action":"ok","value":"two"}""", tailLog: true);

        Assert.Equal(InvocationOutcome.Success, (await fn.Server.ResultAsync(first.RequestId)).Outcome);
        var tailed = await fn.Server.ResultAsync(second.RequestId);
        await fn.Shim.WaitForLineAsync(l => l.StartsWith($"REPORT RequestId: {second.RequestId}\t", StringComparison.Ordinal));

        var lines = fn.Shim.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        foreach (var (id, value) in new[] { (first.RequestId, "one"), (second.RequestId, "two") })
        {
            var start = lines.IndexOf($"START RequestId: {id} Version: $LATEST");
            var line = lines.FindIndex(l => l.Contains("hello-from-handler " + value, StringComparison.Ordinal));
            var end = lines.IndexOf($"END RequestId: {id}");
            Assert.True(start >= 0 && start < line && line < end, fn.Shim.Output);
        }

        Assert.StartsWith($"START RequestId: {second.RequestId} Version: $LATEST\n", tailed.LogTail);
    }
}
