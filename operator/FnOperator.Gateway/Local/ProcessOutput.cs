using System.Buffers;
using System.Text;

namespace FnOperator.Gateway.Local;

/// <summary>
/// The terminal that local mode writes to: the start table, and every shim's and runtime's output line with a
/// <c>[function]</c> prefix. Lines from concurrent processes never interleave mid-line. <paramref name="annotate"/> may
/// return a note printed right after a prefixed line (e.g. a memory warning after a REPORT line).
/// </summary>
/// <remarks>
/// Every call is one write to the terminal, under one lock (issue #19): <see cref="PrefixedLines"/> writes a batch of
/// lines (all the complete lines of one read of a shim's stdout) with their notes in place. When the writer is the
/// process's <see cref="System.Console.Out"/>, prefixed lines go as UTF-8 bytes straight to the standard output stream (one
/// write(2) per call) instead of through Console.Out, whose 256-character buffer and flush per line cost a system call
/// each; <see cref="Line"/> (the start table, messages) still goes through the writer, flushed, so the two never reorder.
/// </remarks>
public sealed class ProcessOutput
{
    private readonly Lock gate = new();
    private readonly TextWriter writer;
    private readonly Func<string, string, string?>? annotate;
    private readonly Stream? raw;

    public ProcessOutput(TextWriter writer, Func<string, string, string?>? annotate = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        this.writer = writer;
        this.annotate = annotate;
        raw = ReferenceEquals(writer, System.Console.Out) ? System.Console.OpenStandardOutput() : null;
    }

    public static ProcessOutput Console { get; } = new(System.Console.Out);

    public void Line(string text)
    {
        lock (gate)
        {
            writer.WriteLine(text);
            writer.Flush();
        }
    }

    public void Prefixed(string prefix, string text)
    {
        var note = annotate?.Invoke(prefix, text);
        var batch = new StringBuilder(prefix.Length + text.Length + 4);
        AppendLine(batch, prefix, text);
        if (note is not null)
        {
            AppendLine(batch, prefix, note);
        }

        Write(batch);
    }

    /// <summary>
    /// Writes <paramref name="lines"/> with the prefix, each followed by its note (if any), in one write: another caller's
    /// lines come before or after the whole batch, never inside it.
    /// </summary>
    public void PrefixedLines(string prefix, IReadOnlyList<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            return;
        }

        var length = 0;
        foreach (var line in lines)
        {
            length += prefix.Length + line.Length + 4;
        }

        var batch = new StringBuilder(length);
        foreach (var line in lines)
        {
            AppendLine(batch, prefix, line);
            if (annotate?.Invoke(prefix, line) is { } note)
            {
                AppendLine(batch, prefix, note);
            }
        }

        Write(batch);
    }

    private static void AppendLine(StringBuilder batch, string prefix, string text) =>
        batch.Append('[').Append(prefix).Append("] ").Append(text).Append('\n');

    private void Write(StringBuilder batch)
    {
        if (raw is null)
        {
            lock (gate)
            {
                // The writer's own newline is not used (tests compare with WriteLine output): '\n' is Environment.NewLine here.
                writer.Write(batch);
                writer.Flush();
            }

            return;
        }

        var text = batch.ToString();
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            var bytes = Encoding.UTF8.GetBytes(text, buffer);
            lock (gate)
            {
                raw.Write(buffer, 0, bytes);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
