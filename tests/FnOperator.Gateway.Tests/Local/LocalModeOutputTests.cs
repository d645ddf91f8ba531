using System.IO.Pipes;
using System.Text;
using FnOperator.Gateway.Local;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// Local mode's output path (issue #19): a shim's stdout read as bytes and split into lines (a partial line waits for the
/// next read, a very long line is cut into marked pieces), all the lines of one read written in one write with their notes
/// in place, never interleaved mid-line with another shim's; an in-process instance's lines written once per flush.
/// </summary>
public sealed class LocalModeOutputTests
{
    /// <summary>
    /// A stream that returns the given chunks, one per read (how a pipe hands over what a writer wrote); a chunk larger
    /// than the room the reader offers is returned over several reads.
    /// </summary>
    private sealed class ChunkedStream(params byte[][] chunks) : Stream
    {
        private int next;
        private int at;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (next == chunks.Length)
            {
                return 0;
            }

            var chunk = chunks[next];
            var size = Math.Min(count, chunk.Length - at);
            chunk.AsSpan(at, size).CopyTo(buffer.AsSpan(offset));
            at += size;
            if (at == chunk.Length)
            {
                next++;
                at = 0;
            }

            return size;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Records the text of every write that reached it (ProcessOutput flushes once per write).</summary>
    private sealed class FlushRecorder : StringWriter
    {
        private int flushedUpTo;

        public List<string> Writes { get; } = [];

        public override void Flush()
        {
            lock (Writes)
            {
                var text = ToString();
                if (text.Length > flushedUpTo)
                {
                    Writes.Add(text[flushedUpTo..]);
                    flushedUpTo = text.Length;
                }
            }
        }
    }

    private static async Task<List<List<string>>> BatchesAsync(Stream stream, int maxLineBytes = ShimOutputReader.MaxLineBytes)
    {
        var batches = new List<List<string>>();
        await ShimOutputReader.PumpAsync(stream, lines => batches.Add([.. lines]), maxLineBytes).WaitAsync(TimeSpan.FromSeconds(60));
        return batches;
    }

    [Fact]
    public async Task A_line_split_across_two_reads_is_handed_on_whole_with_the_read_that_completes_it()
    {
        var batches = await BatchesAsync(new ChunkedStream(
            "START RequestId: a\nhello fr"u8.ToArray(), "om the handler\r\nEND RequestId: a\nREPO"u8.ToArray(), "RT RequestId: a\n"u8.ToArray()));

        Assert.Equal(
            [["START RequestId: a"], ["hello from the handler", "END RequestId: a"], ["REPORT RequestId: a"]],
            batches);
    }

    [Fact]
    public async Task A_character_split_across_two_reads_is_decoded_whole_and_a_last_line_without_newline_is_kept()
    {
        var bytes = Encoding.UTF8.GetBytes("été\nfin");
        var batches = await BatchesAsync(new ChunkedStream(bytes[..1], bytes[1..4], bytes[4..]));

        Assert.Equal([["été"], ["fin"]], batches);
    }

    [Fact]
    public async Task A_line_longer_than_the_limit_is_cut_into_marked_pieces_without_splitting_a_character()
    {
        // 64-byte limit: 30 × "é" (2 bytes each) + "x" = 61 bytes, then more "é": byte 64 is the middle of a character, so
        // the first piece is 63 bytes; the second is 32 × "é" (64 bytes exactly); 7 are left.
        var line = new string('é', 30) + "x" + new string('é', 40);
        var chunks = Encoding.UTF8.GetBytes(line + "\nnext\n").Chunk(16).ToArray();

        var lines = (await BatchesAsync(new ChunkedStream(chunks), maxLineBytes: 64)).SelectMany(b => b).ToList();

        Assert.Equal(new string('é', 30) + "xé" + ShimOutputReader.CutMarker, lines[0]);
        Assert.Equal(new string('é', 32) + ShimOutputReader.CutMarker, lines[1]);
        Assert.Equal([new string('é', 7), "next"], lines[2..]);
        Assert.Equal(line, string.Concat(lines.SkipLast(1)).Replace(ShimOutputReader.CutMarker, "", StringComparison.Ordinal));
    }

    [Fact]
    public void Lines_of_one_read_are_one_write_with_each_note_right_after_its_line()
    {
        var writer = new FlushRecorder();
        var output = new ProcessOutput(writer, (_, line) => line.StartsWith("REPORT", StringComparison.Ordinal) ? "note for " + line[7..] : null);

        output.PrefixedLines("fn", ["START RequestId: a", "REPORT a", "START RequestId: b", "REPORT b"]);
        output.Line("table");

        Assert.Equal(
            [
                "[fn] START RequestId: a\n[fn] REPORT a\n[fn] note for a\n[fn] START RequestId: b\n[fn] REPORT b\n[fn] note for b\n",
                "table" + Environment.NewLine,
            ],
            writer.Writes);
    }

    [Fact]
    public async Task Two_shims_writing_at_once_never_interleave_mid_line()
    {
        var writer = new FlushRecorder();
        var output = new ProcessOutput(writer);
        const int Lines = 3000;

        async Task ShimAsync(string label)
        {
            using var server = new AnonymousPipeServerStream(PipeDirection.Out);
            using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
            var reading = ShimOutputReader.PumpAsync(client, lines => output.PrefixedLines(label, lines));
            var payload = new string((char)('a' + label.Length % 26), 100);
            for (var i = 0; i < Lines; i++)
            {
                // Writes of odd sizes, so lines straddle the reads.
                server.Write(Encoding.UTF8.GetBytes($"{label} {i} {payload[..(i % 100)]}\n"));
            }

            server.Dispose();
            await reading.WaitAsync(TimeSpan.FromSeconds(60));
        }

        await Task.WhenAll(Task.Run(() => ShimAsync("one")), Task.Run(() => ShimAsync("three")));

        var text = string.Concat(writer.Writes);
        var all = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(writer.Writes, w => Assert.EndsWith("\n", w));
        foreach (var label in new[] { "one", "three" })
        {
            var payload = new string((char)('a' + label.Length % 26), 100);
            var mine = all.Where(l => l.StartsWith($"[{label}] ", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(0, Lines).Select(i => $"[{label}] {label} {i} {payload[..(i % 100)]}"), mine);
        }

        Assert.Equal(2 * Lines, all.Length);
    }

    [Fact]
    public void In_process_lines_are_written_once_per_flush_and_a_log_line_comes_after_the_lines_before_it()
    {
        var writer = new FlushRecorder();
        var lines = new PrefixedLineWriter(new ProcessOutput(writer), "fn");

        lines.WriteLine("START RequestId: a Version: $LATEST");
        Assert.Empty(writer.Writes);
        lines.Write("partial ");
        lines.Write("line\nEND RequestId: a\n");
        lines.Flush();
        lines.WriteLine("START RequestId: b Version: $LATEST");
        lines.WriteLineNow("[shim] warning: something");
        lines.Flush();

        Assert.Equal(
            [
                "[fn] START RequestId: a Version: $LATEST\n[fn] partial line\n[fn] END RequestId: a\n",
                "[fn] START RequestId: b Version: $LATEST\n[fn] [shim] warning: something\n",
            ],
            writer.Writes);
    }
}
