using System.Text;
using FnOperator.Gateway.Local;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// Local mode's stdout when it is the process's own (issue #19, seventh pass): every instance's prefixed lines gathered
/// into one process-wide buffer and written together, each batch whole and in order, bounded in bytes (the caller writes
/// when it is full) and in time (a writer thread), and written before any Line and at Flush.
/// </summary>
public sealed class ProcessOutputGatheringTests
{
    /// <summary>The bytes of each write(2) the output made, in order.</summary>
    private sealed class WriteRecorder : Stream
    {
        private readonly List<byte[]> writes = [];

        public List<string> Writes
        {
            get
            {
                lock (writes)
                {
                    return writes.Select(w => Encoding.UTF8.GetString(w)).ToList();
                }
            }
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (writes)
            {
                writes.Add(buffer.AsSpan(offset, count).ToArray());
            }
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private static (ProcessOutput Output, WriteRecorder Stream) Gathered(TimeSpan gatherTime, int maxPendingBytes = ProcessOutput.MaxPendingBytes,
        Func<string, string, string?>? annotate = null)
    {
        var stream = new WriteRecorder();
        var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
        return (new ProcessOutput(writer, stream, gatherTime, maxPendingBytes, annotate), stream);
    }

    [Fact]
    public void Batches_of_several_instances_go_out_in_one_write_before_the_next_line_with_their_notes_in_place()
    {
        var (output, stream) = Gathered(TimeSpan.FromHours(1), annotate: (prefix, line) => line.StartsWith("REPORT", StringComparison.Ordinal) ? $"note for {prefix}" : null);

        output.PrefixedLines("one", ["START RequestId: a", "END RequestId: a", "REPORT RequestId: a"]);
        output.PrefixedLines("two", ["START RequestId: b", "ünïcode ✓"]);
        output.Prefixed("one", "runtime line");
        Assert.Empty(stream.Writes);

        output.Line("Stopped.");

        Assert.Equal(
            [
                "[one] START RequestId: a\n[one] END RequestId: a\n[one] REPORT RequestId: a\n[one] note for one\n" +
                "[two] START RequestId: b\n[two] ünïcode ✓\n[one] runtime line\n",
                "Stopped.\n",
            ],
            stream.Writes);
    }

    [Fact]
    public void Without_a_flush_or_a_line_the_pending_lines_are_written_by_the_output_itself()
    {
        var (output, stream) = Gathered(TimeSpan.FromMilliseconds(5));

        output.PrefixedLines("fn", ["END RequestId: a", "REPORT RequestId: a"]);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (stream.Writes.Count == 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        Assert.Equal(["[fn] END RequestId: a\n[fn] REPORT RequestId: a\n"], stream.Writes);
    }

    [Fact]
    public void A_batch_that_fills_the_buffer_is_written_by_its_caller_with_everything_before_it()
    {
        var (output, stream) = Gathered(TimeSpan.FromHours(1), maxPendingBytes: 100);

        output.PrefixedLines("fn", [new string('a', 40)]);
        output.PrefixedLines("fn", [new string('b', 40)]);
        Assert.Empty(stream.Writes);
        output.PrefixedLines("fn", [new string('c', 40)]);

        Assert.Equal([$"[fn] {new string('a', 40)}\n[fn] {new string('b', 40)}\n[fn] {new string('c', 40)}\n"], stream.Writes);
        output.PrefixedLines("fn", ["d"]);
        output.Flush();
        Assert.Equal("[fn] d\n", stream.Writes[^1]);
    }

    [Fact]
    public async Task Concurrent_streams_keep_their_order_and_whole_lines_and_lose_nothing()
    {
        const int Batches = 2000;
        var (output, stream) = Gathered(TimeSpan.FromMilliseconds(1), maxPendingBytes: 4096);
        var labels = Enumerable.Range(0, 8).Select(i => $"fn{i}").ToList();

        await Task.WhenAll(labels.Select(label => Task.Run(() =>
        {
            for (var i = 0; i < Batches; i++)
            {
                output.PrefixedLines(label, [$"{label} {i} first", $"{label} {i} second {new string('x', i % 50)}"]);
            }
        })));
        output.Flush();

        var writes = stream.Writes;
        Assert.All(writes, w => Assert.EndsWith("\n", w));
        var all = string.Concat(writes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(labels.Count * Batches * 2, all.Length);
        foreach (var label in labels)
        {
            var expected = Enumerable.Range(0, Batches).SelectMany(i => new[] { $"[{label}] {label} {i} first", $"[{label}] {label} {i} second {new string('x', i % 50)}" });
            Assert.Equal(expected, all.Where(l => l.StartsWith($"[{label}] ", StringComparison.Ordinal)));
        }

        Assert.True(writes.Count < labels.Count * Batches, $"{writes.Count} writes for {labels.Count * Batches} batches: nothing was gathered");
    }
}
