using System.Text;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The shim's log stream: the runtime's output and the shim's START/END/REPORT lines, forwarded to stdout and, while an
/// invocation runs, captured so its last 4 KB can be returned as the invocation's log tail. With concurrent invocations
/// (docs/concurrency.md) each invocation captures only the lines attributed to its request id: the shim's own lines for it,
/// and runtime lines that carry the id (Lambda's text format `timestamp\trequestId\tLEVEL\tmessage`, or a JSON line's
/// "requestId"); a line no in-flight invocation claims goes to the stream only.
/// </summary>
public sealed class LogSink
{
    /// <summary>Lambda returns the last 4 KB of an invocation's log (X-Amz-Log-Result).</summary>
    public const int TailBytes = 4096;
    private const int CaptureTrimAt = 64 * 1024;
    private readonly Lock _lock = new();
    private readonly TextWriter _output;
    private StringBuilder? _capture;
    private readonly Dictionary<string, StringBuilder> _captures = new(StringComparer.Ordinal);

    // A line written by WriteLineDeferred waits in the writer's buffer for the next flush (guarded by _lock; read
    // without it by FlushDeferred's fast path).
    private volatile bool _pending;

    /// <summary>
    /// A sink writing to <paramref name="output"/>. The process's stdout (<see cref="Console.Out"/>) is written through a
    /// buffer of the sink's own, flushed at the end of every call (one write(2) for the lines of one call, e.g. END and
    /// REPORT together, or a read's worth of runtime lines: issue #19), instead of Console.Out's flush per line. Any other
    /// writer gets one WriteLine per line, then Flush.
    /// </summary>
    public LogSink(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = ReferenceEquals(output, Console.Out)
            ? new StreamWriter(Console.OpenStandardOutput(), Console.OutputEncoding, 16 * 1024) { AutoFlush = false }
            : output;
    }

    public void WriteLine(string line)
    {
        lock (_lock)
        {
            WriteLocked(line);
            FlushLocked();
        }
    }

    /// <summary>
    /// Writes a line without flushing it (START: issue #19). It goes out, in order, with the next flush of the stream: the
    /// runtime's first output (<see cref="Flush"/> after a read), END/REPORT, any other line, or <see cref="FlushDeferred"/>
    /// (the memory sampler's 50 ms tick, so a silent invocation still shows its START within ~50 ms). A short invocation's
    /// START, END and REPORT thus leave in one write(2).
    /// </summary>
    public void WriteLineDeferred(string line)
    {
        lock (_lock)
        {
            WriteLocked(line);
            _pending = true;
        }
    }

    /// <summary>As <see cref="WriteLineDeferred(string)"/>, for a line of one of several concurrent invocations.</summary>
    public void WriteLineDeferred(string line, string requestId)
    {
        lock (_lock)
        {
            WriteLocked(line, requestId);
            _pending = true;
        }
    }

    /// <summary>Flushes a deferred line that no other write has flushed yet (a timer's tick); nothing to do is one read.</summary>
    public void FlushDeferred()
    {
        if (!_pending)
        {
            return;
        }

        lock (_lock)
        {
            if (_pending)
            {
                FlushLocked();
            }
        }
    }

    private void FlushLocked()
    {
        _pending = false;
        _output.Flush();
    }

    /// <summary>Writes runtime lines without flushing (<see cref="Flush"/> ends the batch: the output pump, per read).</summary>
    internal void Append(string line)
    {
        lock (_lock)
        {
            WriteLocked(line);
        }
    }

    /// <summary>Flushes what <see cref="Append"/> wrote.</summary>
    internal void Flush()
    {
        lock (_lock)
        {
            FlushLocked();
        }
    }

    /// <summary>Writes two lines in one flush (END and REPORT).</summary>
    public void WriteLines(string first, string second)
    {
        lock (_lock)
        {
            WriteLocked(first);
            WriteLocked(second);
            FlushLocked();
        }
    }

    /// <summary>Writes two lines of one invocation in one flush (END and REPORT under concurrency).</summary>
    public void WriteLines(string first, string second, string requestId)
    {
        lock (_lock)
        {
            WriteLocked(first, requestId);
            WriteLocked(second, requestId);
            FlushLocked();
        }
    }

    private void WriteLocked(string line)
    {
        _output.WriteLine(line);
        if (_capture is not null)
        {
            Append(_capture, line);
        }

        if (_captures.Count > 0 && RequestIdOf(line) is { Length: > 0 } id
            && _captures.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(id, out var capture))
        {
            Append(capture, line);
        }
    }

    private void WriteLocked(string line, string requestId)
    {
        _output.WriteLine(line);
        if (_captures.TryGetValue(requestId, out var capture))
        {
            Append(capture, line);
        }
    }

    /// <summary>Writes a line of one invocation (the shim's START/END/REPORT and error lines under concurrency).</summary>
    public void WriteLine(string line, string requestId)
    {
        lock (_lock)
        {
            WriteLocked(line, requestId);
            FlushLocked();
        }
    }

    /// <summary>Starts capturing the lines attributed to one of several concurrent invocations.</summary>
    public void BeginCapture(string requestId)
    {
        lock (_lock)
        {
            _captures[requestId] = new StringBuilder();
        }
    }

    /// <summary>Stops capturing for <paramref name="requestId"/> and returns its last <see cref="TailBytes"/> bytes.</summary>
    public string EndCapture(string requestId)
    {
        string text;
        lock (_lock)
        {
            text = _captures.Remove(requestId, out var capture) ? capture.ToString() : "";
        }

        return Tail(text, TailBytes);
    }

    /// <summary>
    /// The request id a runtime line names: the second tab-separated field of Lambda's text format, or the value of a JSON
    /// line's "requestId"; empty when it names none (only compared with the ids in flight).
    /// </summary>
    internal static ReadOnlySpan<char> RequestIdOf(ReadOnlySpan<char> line)
    {
        if (line.Length > 0 && line[0] == '{')
        {
            const string key = "\"requestId\":\"";
            var at = line.IndexOf(key, StringComparison.Ordinal);
            if (at < 0)
            {
                return [];
            }

            var rest = line[(at + key.Length)..];
            var end = rest.IndexOf('"');
            return end > 0 ? rest[..end] : [];
        }

        var tab = line.IndexOf('\t');
        if (tab < 0)
        {
            return [];
        }

        var after = line[(tab + 1)..];
        var next = after.IndexOf('\t');
        return next > 0 ? after[..next] : [];
    }

    private static void Append(StringBuilder capture, string line)
    {
        capture.Append(line).Append('\n');
        if (capture.Length > CaptureTrimAt)
        {
            capture.Remove(0, capture.Length - (TailBytes * 2));
        }
    }

    /// <summary>Starts capturing lines for one invocation.</summary>
    public void BeginCapture()
    {
        lock (_lock)
        {
            _capture = new StringBuilder();
        }
    }

    /// <summary>Stops capturing and returns the last <see cref="TailBytes"/> bytes (UTF-8, cut on a character boundary).</summary>
    public string EndCapture()
    {
        string text;
        lock (_lock)
        {
            text = _capture?.ToString() ?? "";
            _capture = null;
        }

        return Tail(text, TailBytes);
    }

    public static string Tail(string text, int maxBytes)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length <= maxBytes)
        {
            return text;
        }

        var start = bytes.Length - maxBytes;
        while (start < bytes.Length && (bytes[start] & 0xC0) == 0x80)
        {
            start++;
        }

        return Encoding.UTF8.GetString(bytes, start, bytes.Length - start);
    }
}
