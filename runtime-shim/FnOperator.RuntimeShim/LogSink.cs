using System.Text;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The shim's log stream: the runtime's output and the shim's START/END/REPORT lines, forwarded to stdout and, while an
/// invocation runs, captured so its last 4 KB can be returned as the invocation's log tail.
/// </summary>
public sealed class LogSink(TextWriter output)
{
    /// <summary>Lambda returns the last 4 KB of an invocation's log (X-Amz-Log-Result).</summary>
    public const int TailBytes = 4096;
    private const int CaptureTrimAt = 64 * 1024;
    private readonly Lock _lock = new();
    private StringBuilder? _capture;

    public void WriteLine(string line)
    {
        lock (_lock)
        {
            output.WriteLine(line);
            if (_capture is not null)
            {
                _capture.Append(line).Append('\n');
                if (_capture.Length > CaptureTrimAt)
                {
                    _capture.Remove(0, _capture.Length - (TailBytes * 2));
                }
            }
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
