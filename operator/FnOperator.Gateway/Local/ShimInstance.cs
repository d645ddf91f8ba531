using System.Diagnostics;
using System.Runtime.InteropServices;
using FnOperator.Sandboxing;

namespace FnOperator.Gateway.Local;

/// <summary>How to start the runtime-shim for one function: the shim DLL, the dotnet host, and the environment.</summary>
public sealed record ShimLaunch(string DotnetHost, string ShimDll, string Label, IReadOnlyDictionary<string, string> Environment);

/// <summary>
/// One runtime-shim process (which supervises the function's runtime as its child). Output is forwarded with the
/// function's prefix; <see cref="Ready"/> completes with the shim's runtime API address once it prints
/// <c>FNOP_SHIM_LISTENING</c>. Stopping sends SIGTERM so the shim drains, then kills the whole tree after a grace period.
/// </summary>
public sealed partial class ShimInstance : IFunctionInstance
{
    public const string ListeningMarker = "FNOP_SHIM_LISTENING";

    private readonly Process process;
    private readonly TaskCompletionSource<string> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource readersStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task stdoutDone = Task.CompletedTask;
    private Task stderrDone = Task.CompletedTask;

    private ShimInstance(Process process, DateTimeOffset startedAt)
    {
        this.process = process;
        StartedAt = startedAt;
    }

    public int ProcessId => process.Id;

    public string Name => $"pid {process.Id}";

    public DateTimeOffset StartedAt { get; }

    public bool Stopping { get; private set; }

    /// <summary>The runtime API address the shim listens on, once it is listening.</summary>
    public Task<string> Ready => ready.Task;

    /// <summary>Completes with the exit code when the process has exited.</summary>
    public Task<int> Exited => exited.Task;

    public static ShimInstance Start(ShimLaunch launch, ProcessOutput output, DateTimeOffset now)
    {
        // A Native AOT shim (`make shim-aot`) is an executable of its own; the JIT build is a DLL the dotnet host runs.
        var native = ShimLocator.IsNative(launch.ShimDll);
        var info = new ProcessStartInfo(native ? launch.ShimDll : launch.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (!native)
        {
            info.ArgumentList.Add(launch.ShimDll);
        }

        info.Environment.Clear();
        foreach (var (key, value) in LocalSandbox.ShimEnvironment(launch.Environment, launch.ShimDll, Environment.GetEnvironmentVariables()))
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var instance = new ShimInstance(process, now);
        process.Exited += (_, _) => instance.OnExited();
        ProcessSandbox.Start(process);
        try
        {
            process.StandardInput.Close();
            instance.stdoutDone = ShimOutputReader.PumpAsync(process.StandardOutput.BaseStream, lines => instance.OnLines(lines, launch.Label, output));
            instance.stderrDone = ShimOutputReader.PumpAsync(process.StandardError.BaseStream, lines => instance.OnLines(lines, launch.Label, output));
        }
        finally
        {
            instance.readersStarted.TrySetResult();
        }

        return instance;
    }

    /// <summary>Asks the shim to drain and stop (SIGTERM); kills the process tree if it has not exited after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        Stopping = true;
        if (exited.Task.IsCompleted)
        {
            return;
        }

        if (SendSignal(process.Id, SigTerm) != 0)
        {
            Kill();
        }

        try
        {
            await exited.Task.WaitAsync(grace, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            Kill();
            await exited.Task.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!exited.Task.IsCompleted)
        {
            Kill();
            await exited.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        process.Dispose();
    }

    private void Kill()
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    /// <summary>The complete lines of one read of the shim's stdout or stderr: one write to local mode's output.</summary>
    private void OnLines(List<string> lines, string label, ProcessOutput output)
    {
        if (!ready.Task.IsCompleted)
        {
            for (var i = 0; i < lines.Count; i++)
            {
                var line = lines[i];
                if (line.StartsWith(ListeningMarker, StringComparison.Ordinal))
                {
                    var api = line.Split(' ').FirstOrDefault(p => p.StartsWith("runtime-api=", StringComparison.Ordinal))?["runtime-api=".Length..] ?? "";
                    lines[i] = $"instance pid {process.Id} ready ({line[ListeningMarker.Length..].Trim()})";
                    output.PrefixedLines(label, lines);
                    ready.TrySetResult(api);
                    return;
                }
            }
        }

        output.PrefixedLines(label, lines);
    }

    private void OnExited()
    {
        // Give the redirected output a moment to drain, but never hang on a pipe a leftover grandchild still holds.
        readersStarted.Task.Wait();
        try
        {
            Task.WhenAll(stdoutDone, stderrDone).Wait(5000);
        }
        catch (AggregateException)
        {
            // A reader that failed has stopped: nothing more to wait for.
        }

        process.WaitForExit(5000);
        var code = process.ExitCode;

        // The shim's runtime dies with it (PR_SET_PDEATHSIG); anything the runtime left behind was re-parented to local
        // mode (a subreaper) and dies here.
        ProcessSandbox.Untrack(process.Id);
        ProcessSandbox.KillOrphans();
        ready.TrySetException(new InvalidOperationException($"runtime-shim exited with code {code} before it was listening"));
        _ = ready.Task.Exception; // observed: a shim that never became ready is reported through Exited
        exited.TrySetResult(code);
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}

/// <summary>
/// Reads one output stream of a shim process (issue #19): an async read loop on the pipe (the socket engine's epoll
/// thread, which also serves the invocation's sockets, takes the wake-up; a thread of its own blocked in read(2) cost
/// one more context switch per invocation, measured), splits the bytes into lines and hands all the complete lines of
/// one read to <c>onLines</c> at once. A partial line waits for the next read; a line longer than
/// <see cref="MaxLineBytes"/> is cut into pieces of that size, each but the last ending with <see cref="CutMarker"/>, so
/// memory stays bounded (the buffer shrinks back after a long line). A trailing <c>\r</c> is dropped with its <c>\n</c>;
/// the bytes after the last newline are a line of their own at the end of the stream.
/// </summary>
internal static class ShimOutputReader
{
    /// <summary>Longer than any line a shim emits (its own pieces are at most 256 Ki characters, docs/runtime-shim.md).</summary>
    public const int MaxLineBytes = 1024 * 1024;

    public const string CutMarker = " [local: line cut at 1 MiB, continued on the next line]";

    private const int ReadSize = 16 * 1024;

    /// <summary>Reads <paramref name="stream"/> to its end, handing the complete lines of every read to <paramref name="onLines"/>.</summary>
    public static async Task PumpAsync(Stream stream, Action<List<string>> onLines, int maxLineBytes = MaxLineBytes)
    {
        var buffer = new byte[Math.Min(ReadSize, maxLineBytes)];
        var tail = 0; // bytes of an unfinished line at buffer[0..tail)
        var lines = new List<string>();
        while (true)
        {
            if (tail == buffer.Length)
            {
                if (buffer.Length < maxLineBytes)
                {
                    Array.Resize(ref buffer, Math.Min(buffer.Length * 2, maxLineBytes));
                }
                else
                {
                    var cut = Utf8Boundary(buffer, maxLineBytes);
                    lines.Add(System.Text.Encoding.UTF8.GetString(buffer, 0, cut) + CutMarker);
                    Buffer.BlockCopy(buffer, cut, buffer, 0, tail - cut);
                    tail -= cut;
                    onLines(lines);
                    lines.Clear();
                    continue;
                }
            }

            var read = await ReadAsync(stream, buffer, tail).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            var scan = tail;
            tail += read;
            var start = 0;
            int newline;
            while ((newline = buffer.AsSpan(scan, tail - scan).IndexOf((byte)'\n')) >= 0)
            {
                var end = scan + newline;
                var length = end - start;
                if (length > 0 && buffer[end - 1] == (byte)'\r')
                {
                    length--;
                }

                lines.Add(System.Text.Encoding.UTF8.GetString(buffer, start, length));
                start = scan = end + 1;
            }

            if (start > 0)
            {
                tail -= start;
                if (buffer.Length > ReadSize && tail <= ReadSize / 2)
                {
                    var small = new byte[ReadSize];
                    Buffer.BlockCopy(buffer, start, small, 0, tail);
                    buffer = small;
                }
                else
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, tail);
                }
            }

            if (lines.Count > 0)
            {
                onLines(lines);
                lines.Clear();
            }
        }

        if (tail > 0)
        {
            onLines([System.Text.Encoding.UTF8.GetString(buffer, 0, tail)]);
        }
    }

    /// <summary>One read; 0 at the end of the stream or when the pipe broke with the process (what was read was handed on).</summary>
    private static async ValueTask<int> ReadAsync(Stream stream, byte[] buffer, int offset)
    {
        try
        {
            return await stream.ReadAsync(buffer.AsMemory(offset)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            return 0;
        }
    }

    /// <summary>The longest prefix of <paramref name="buffer"/>[0..limit) that does not end inside a UTF-8 character.</summary>
    private static int Utf8Boundary(byte[] buffer, int limit)
    {
        var lead = limit - 1;
        while (lead > 0 && limit - lead < 4 && (buffer[lead] & 0xC0) == 0x80)
        {
            lead--;
        }

        var b = buffer[lead];
        var size = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
        return lead + size <= limit || lead == 0 ? limit : lead;
    }
}
