using System.Text;

namespace FnOperator.Gateway.Local;

/// <summary>
/// The terminal that local mode writes to: the start table, and every shim's and runtime's output line with a
/// <c>[function]</c> prefix. Lines from concurrent processes never interleave mid-line. <paramref name="annotate"/> may
/// return a note printed right after a prefixed line (e.g. a memory warning after a REPORT line).
/// </summary>
/// <remarks>
/// When the writer is the process's <see cref="System.Console.Out"/>, prefixed lines are gathered (issue #19, seventh
/// pass): every instance's batch (<see cref="PrefixedLines"/>: the lines of one flush of an in-process instance's log
/// stream, or of one read of a shim's stdout) is encoded as UTF-8 into one process-wide buffer, and a writer thread
/// writes all that is pending in one write(2) at most <see cref="GatherTime"/> after the first of it arrived, instead of
/// one write per batch per instance. Each batch goes into the buffer whole and in call order, so lines never interleave
/// and each stream's order is kept. The buffer is bounded: a batch that takes it past <see cref="MaxPendingBytes"/> is
/// written by its caller at once, with everything before it (back-pressure on the caller, nothing dropped).
/// <see cref="Line"/> (the start table, messages) and <see cref="Flush"/> write what is pending first, so the two never
/// reorder and nothing is left behind at stop ("Stopped." is a Line; the process's exit flushes too). Any other writer
/// (tests) gets one Write and Flush per batch, on the caller's thread.
/// </remarks>
public sealed class ProcessOutput
{
    /// <summary>The longest a prefixed line waits in the gathered buffer before it is written.</summary>
    public static readonly TimeSpan GatherTime = TimeSpan.FromMilliseconds(10);

    /// <summary>Past this many pending bytes the caller writes them itself (back-pressure).</summary>
    public const int MaxPendingBytes = 1024 * 1024;

    private readonly TextWriter writer;
    private readonly Func<string, string, string?>? annotate;
    private readonly Gathered? gathered;
    private readonly Lock writerGate = new();

    public ProcessOutput(TextWriter writer, Func<string, string, string?>? annotate = null)
        : this(writer, ReferenceEquals(writer, System.Console.Out) ? System.Console.OpenStandardOutput() : null, GatherTime, MaxPendingBytes, annotate)
    {
    }

    /// <summary>
    /// Prefixed lines gathered for <paramref name="gatherTime"/> into one write to <paramref name="stream"/> (the same file
    /// as <paramref name="writer"/>, which <see cref="Line"/> writes to); with no stream, every batch is one write to the writer.
    /// </summary>
    internal ProcessOutput(TextWriter writer, Stream? stream, TimeSpan gatherTime, int maxPendingBytes, Func<string, string, string?>? annotate = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentOutOfRangeException.ThrowIfLessThan(gatherTime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPendingBytes, 1);
        this.writer = writer;
        this.annotate = annotate;
        if (stream is not null)
        {
            gathered = new Gathered(stream, gatherTime, maxPendingBytes);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Flush();
        }
    }

    public static ProcessOutput Console { get; } = new(System.Console.Out);

    public void Line(string text)
    {
        if (gathered is null)
        {
            lock (writerGate)
            {
                writer.WriteLine(text);
                writer.Flush();
            }

            return;
        }

        gathered.Drain(() =>
        {
            writer.WriteLine(text);
            writer.Flush();
        });
    }

    /// <summary>Writes every prefixed line not written yet, before returning.</summary>
    public void Flush() => gathered?.Drain(null);

    public void Prefixed(string prefix, string text) => PrefixedLines(prefix, [text]);

    /// <summary>
    /// Writes <paramref name="lines"/> with the prefix, each followed by its note (if any), together: another caller's
    /// lines come before or after the whole batch, never inside it.
    /// </summary>
    public void PrefixedLines(string prefix, IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            return;
        }

        // Notes are looked for outside every lock (the memory warner matches REPORT lines).
        string?[]? notes = null;
        if (annotate is not null)
        {
            for (var i = 0; i < lines.Count; i++)
            {
                if (annotate(prefix, lines[i]) is { } note)
                {
                    notes ??= new string?[lines.Count];
                    notes[i] = note;
                }
            }
        }

        if (gathered is not null)
        {
            gathered.Append(prefix, lines, notes);
            return;
        }

        var batch = new StringBuilder();
        for (var i = 0; i < lines.Count; i++)
        {
            AppendLine(batch, prefix, lines[i]);
            if (notes?[i] is { } note)
            {
                AppendLine(batch, prefix, note);
            }
        }

        lock (writerGate)
        {
            // The writer's own newline is not used (tests compare with WriteLine output): '\n' is Environment.NewLine here.
            writer.Write(batch);
            writer.Flush();
        }
    }

    private static void AppendLine(StringBuilder batch, string prefix, string text) =>
        batch.Append('[').Append(prefix).Append("] ").Append(text).Append('\n');

    /// <summary>
    /// The process-wide buffer of prefixed lines and the thread that writes it. Lock order: <c>writeGate</c> (one write to
    /// the stream at a time, in buffer order), then <c>gate</c> (the pending bytes).
    /// </summary>
    private sealed class Gathered
    {
        private readonly Stream stream;
        private readonly TimeSpan gatherTime;
        private readonly int maxPendingBytes;
        private readonly Lock gate = new();
        private readonly Lock writeGate = new();
        private readonly AutoResetEvent arrived = new(false);
        private byte[] pending = new byte[16 * 1024];
        private byte[] spare = new byte[16 * 1024];
        private int length;
        private bool armed;

        public Gathered(Stream stream, TimeSpan gatherTime, int maxPendingBytes)
        {
            this.stream = stream;
            this.gatherTime = gatherTime;
            this.maxPendingBytes = maxPendingBytes;
            new Thread(Run) { IsBackground = true, Name = "local output" }.Start();
        }

        public void Append(string prefix, IReadOnlyList<string> lines, string?[]? notes)
        {
            bool full;
            lock (gate)
            {
                for (var i = 0; i < lines.Count; i++)
                {
                    AppendLocked(prefix, lines[i]);
                    if (notes?[i] is { } note)
                    {
                        AppendLocked(prefix, note);
                    }
                }

                full = length > maxPendingBytes;
                if (!armed && !full)
                {
                    // The first bytes since the last write: the writer thread wakes once, then gathers for gatherTime.
                    armed = true;
                    arrived.Set();
                }
            }

            if (full)
            {
                Drain(null);
            }
        }

        /// <summary>Writes what is pending, then runs <paramref name="after"/> (a Line to the writer), before any later write.</summary>
        public void Drain(Action? after)
        {
            lock (writeGate)
            {
                int count;
                byte[] chunk;
                lock (gate)
                {
                    (chunk, count) = (pending, length);
                    (pending, spare, length, armed) = (spare, pending, 0, false);
                }

                if (count > 0)
                {
                    try
                    {
                        stream.Write(chunk, 0, count);
                        stream.Flush();
                    }
                    catch (Exception e) when (e is IOException or ObjectDisposedException)
                    {
                        // Local mode's stdout is gone (its reader closed the pipe): there is nowhere to write these lines to.
                    }
                }

                after?.Invoke();
            }
        }

        private void AppendLocked(string prefix, string text)
        {
            var need = length + Encoding.UTF8.GetMaxByteCount(prefix.Length + text.Length + 3);
            if (need > pending.Length)
            {
                Array.Resize(ref pending, Math.Max(need, pending.Length * 2));
            }

            var span = pending.AsSpan(length);
            span[0] = (byte)'[';
            var at = 1 + Encoding.UTF8.GetBytes(prefix, span[1..]);
            span[at++] = (byte)']';
            span[at++] = (byte)' ';
            at += Encoding.UTF8.GetBytes(text, span[at..]);
            span[at++] = (byte)'\n';
            length += at;
        }

        private void Run()
        {
            while (true)
            {
                arrived.WaitOne();
                Thread.Sleep(gatherTime);
                Drain(null);
            }
        }
    }
}
