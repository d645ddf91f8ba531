using System.Diagnostics;
using System.IO.Pipes;
using System.Runtime.InteropServices;
using System.Text;

namespace FnOperator.RuntimeShim;

/// <summary>Copies one output stream of the runtime (stdout or stderr) line by line into the <see cref="LogSink"/>.</summary>
public sealed partial class OutputPump
{
    private const nuint Fionread = 0x541B;

    /// <summary>A line longer than this is emitted in pieces, so output without newlines cannot grow memory unbounded.</summary>
    internal const int MaxLineChars = 256 * 1024;
    private readonly Stream _stream;
    private readonly LogSink _sink;
    private readonly int _fd;
    private readonly StringBuilder _partial = new();
    private readonly Lock _lock = new();
    private volatile bool _processing;
    private long _lastRead = Stopwatch.GetTimestamp();
    private long _lastFullRead;
    private long _bytesRead;
    private long _bytesEmitted;

    public OutputPump(Stream stream, LogSink sink)
    {
        _stream = stream;
        _sink = sink;
        _fd = FileDescriptor(stream);
        // A thread of its own, reading synchronously: the byte counts below are then updated right after the read()
        // that took the bytes out of the pipe. With an async read the continuation that counts them waits in the
        // thread pool's queue (tens of ms on a loaded machine), and a concurrent invocation's flush
        // (RuntimeInstance.FlushOutputWrittenAsync: read + unread-in-pipe) would miss bytes already taken from the pipe.
        Completion = Task.Factory.StartNew(Pump, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Completes when the stream reaches end of file (the runtime and its children closed it).</summary>
    public Task Completion { get; }

    /// <summary>
    /// True when nothing written so far is still on its way: the pipe holds no unread bytes and no read is being processed.
    /// Where the pipe cannot be inspected this is only "no read is being processed".
    /// </summary>
    public bool IsIdle
    {
        get
        {
            if (Completion.IsCompleted)
            {
                return !_processing;
            }

            // The pipe first, then the flag: the pump raises the flag before it reads (it waits in poll(2), not in
            // read(2)), so bytes that were in the pipe when it was asked are either still there, or being processed now,
            // or already emitted when the flag is seen down. Asked the other way round, a read taking the bytes between
            // the two looks would be missed.
            var available = Available(_fd);
            return !_processing && available <= 0;
        }
    }

    /// <summary>
    /// True when <see cref="IsIdle"/> is exact: the pipe can be asked for its unread bytes and the pump raises its flag
    /// before each read. Otherwise (no pipe descriptor) a read that has just returned is not yet seen, and a caller should
    /// look twice.
    /// </summary>
    public bool IdleIsExact => _fd >= 0;

    /// <summary>Bytes read from the runtime so far.</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    /// <summary>Bytes read from the runtime whose lines have been handed to the sink (a partial line waits for its newline).</summary>
    public long BytesEmitted => Interlocked.Read(ref _bytesEmitted);

    /// <summary>Bytes the runtime has written so far: read, plus unread in the pipe (read only, where the pipe cannot be asked).</summary>
    public long BytesWritten => BytesRead + Math.Max(0, Available(_fd));

    /// <summary>Time since bytes last arrived from the runtime.</summary>
    public TimeSpan SinceLastRead => Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastRead));

    /// <summary>
    /// True when a read filled the whole buffer within the last second: the runtime writes faster than it is read, so it
    /// may hold a backlog of its own (Node.js buffers what a full pipe does not take) even while the pipe looks empty.
    /// </summary>
    public bool Flooded => Interlocked.Read(ref _lastFullRead) != 0 && Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastFullRead)) < TimeSpan.FromSeconds(1);

    /// <summary>The pipe's file descriptor on Linux, else -1.</summary>
    internal static int FileDescriptor(Stream stream) =>
        stream is PipeStream pipe && OperatingSystem.IsLinux() ? (int)pipe.SafePipeHandle.DangerousGetHandle() : -1;

    /// <summary>Unread bytes in a pipe (FIONREAD); -1 when it cannot be asked.</summary>
    internal static int Available(int fd) => fd >= 0 && ioctl(fd, Fionread, out var available) == 0 ? available : -1;

    /// <summary>Emits a line that has no newline yet (called at the end of an invocation so its output is complete).</summary>
    public void FlushPartialLine()
    {
        lock (_lock)
        {
            if (_partial.Length > 0)
            {
                _sink.WriteLine(_partial.ToString());
                _partial.Clear();
            }
        }
    }

    private void Pump()
    {
        var buffer = new byte[16 * 1024];
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        try
        {
            while (true)
            {
                if (_fd >= 0)
                {
                    // Wait for bytes (or the end) without taking them, then raise the flag, then read: the flag is up
                    // before the bytes leave the pipe, so IsIdle never sees both an empty pipe and a lowered flag
                    // while bytes are on their way to the sink.
                    WaitReadable(_fd);
                    _processing = true;
                }

                var read = _stream.Read(buffer);
                _processing = true;
                Interlocked.Exchange(ref _lastRead, Stopwatch.GetTimestamp());
                Interlocked.Add(ref _bytesRead, read);
                if (read == buffer.Length)
                {
                    Interlocked.Exchange(ref _lastFullRead, Stopwatch.GetTimestamp());
                }

                if (read == 0)
                {
                    break;
                }

                var count = decoder.GetChars(buffer, 0, read, chars, 0);
                Emit(chars.AsSpan(0, count));
                Interlocked.Add(ref _bytesEmitted, read);
                _processing = false;
            }
        }
        catch (IOException)
        {
            // The pipe broke with the process; whatever was read has been emitted.
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            FlushPartialLine();
            _processing = false;
        }
    }

    /// <summary>Hands the complete lines of one read to the sink, flushed once at the end (one write for a read's lines).</summary>
    private void Emit(ReadOnlySpan<char> text)
    {
        lock (_lock)
        {
            try
            {
                EmitLocked(text);
            }
            finally
            {
                _sink.Flush();
            }
        }
    }

    private void EmitLocked(ReadOnlySpan<char> text)
    {
        while (text.Length > 0)
        {
            var newline = text.IndexOf('\n');
            if (newline < 0)
            {
                var room = MaxLineChars - _partial.Length;
                if (text.Length < room)
                {
                    _partial.Append(text);
                    return;
                }

                _partial.Append(text[..room]);
                _sink.Append(_partial.ToString());
                _partial.Clear();
                text = text[room..];
                continue;
            }

            _partial.Append(text[..newline]);
            if (_partial.Length > 0 && _partial[^1] == '\r')
            {
                _partial.Length--;
            }

            _sink.Append(_partial.ToString());
            _partial.Clear();
            text = text[(newline + 1)..];
        }
    }

    /// <summary>Blocks until the pipe has bytes, its other end closed, or it failed (the read that follows says which).</summary>
    private static void WaitReadable(int fd)
    {
        var entry = new PollFd { Fd = fd, Events = PollIn };
        while (poll(ref entry, 1, -1) < 0 && Marshal.GetLastPInvokeError() == Eintr)
        {
        }
    }

    private const short PollIn = 0x001;
    private const int Eintr = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(ref PollFd fds, nuint count, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, out int count);
}
