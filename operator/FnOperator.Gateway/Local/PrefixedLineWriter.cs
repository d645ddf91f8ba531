using System.Text;

namespace FnOperator.Gateway.Local;

/// <summary>
/// The function's log stream of an in-process instance: its lines to local mode's output with the function's prefix,
/// one write per flush (issue #19): the shim's LogSink flushes once per batch (a read's worth of the runtime's lines;
/// START, END and REPORT of a short invocation), so the lines written since the last flush go out together. A batch is
/// bounded: past <see cref="MaxBatchChars"/> characters it is written without waiting for the flush.
/// </summary>
internal sealed class PrefixedLineWriter(ProcessOutput output, string label) : TextWriter
{
    internal const int MaxBatchChars = 256 * 1024;
    private readonly Lock gate = new();
    private readonly StringBuilder partial = new();
    private readonly List<string> batch = [];
    private int batchChars;

    public override Encoding Encoding => Encoding.UTF8;

    public override void WriteLine(string? value)
    {
        lock (gate)
        {
            var line = partial.Length == 0 ? value ?? "" : partial.Append(value).ToString();
            partial.Clear();
            batch.Add(line);
            batchChars += line.Length;
            if (batchChars > MaxBatchChars)
            {
                WriteLocked();
            }
        }
    }

    public override void Write(char value)
    {
        if (value == '\n')
        {
            WriteLine((string?)null);
            return;
        }

        lock (gate)
        {
            partial.Append(value);
        }
    }

    public override void Write(string? value)
    {
        if (value is null)
        {
            return;
        }

        var newline = value.IndexOf('\n', StringComparison.Ordinal);
        if (newline < 0)
        {
            lock (gate)
            {
                partial.Append(value);
            }

            return;
        }

        WriteLine(value[..newline]);
        Write(value[(newline + 1)..]);
    }

    /// <summary>Writes the lines since the last flush in one write.</summary>
    public override void Flush()
    {
        lock (gate)
        {
            WriteLocked();
        }
    }

    /// <summary>Writes <paramref name="line"/> at once, after the lines not yet flushed (the shim's own log lines).</summary>
    public void WriteLineNow(string line)
    {
        lock (gate)
        {
            batch.Add(line);
            WriteLocked();
        }
    }

    // Written under the gate (the output's own lock nests inside it and calls nothing back): two flushes on different
    // threads cannot swap their batches.
    private void WriteLocked()
    {
        if (batch.Count > 0)
        {
            output.PrefixedLines(label, batch);
            batch.Clear();
            batchChars = 0;
        }
    }
}
