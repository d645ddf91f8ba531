using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FnOperator.RuntimeShim;

/// <summary>Why a runtime could not be used: Lambda's error type, message and the error document for the caller.</summary>
public sealed record RuntimeFailure(string ErrorType, string ErrorMessage, byte[]? Payload = null);

/// <summary>
/// One started runtime process (in its own session/process group so its whole tree can be killed), its output pumps and
/// its lifecycle: started → ready (first `GET next`) or failed (init error or exit before ready) → exited.
/// </summary>
public sealed partial class RuntimeInstance
{
    private const int Sigterm = 15;
    private const int Sigkill = 9;
    private readonly Process _process;
    private readonly bool _ownGroup;
    private readonly OutputPump[] _pumps;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RuntimeInstance(Process process, bool ownGroup, LogSink sink, long startTimestamp)
    {
        _process = process;
        _ownGroup = ownGroup;
        StartTimestamp = startTimestamp;
        _pumps = [new OutputPump(process.StandardOutput.BaseStream, sink), new OutputPump(process.StandardError.BaseStream, sink)];
        _ = WatchExitAsync();
    }

    public int ProcessId => _process.Id;

    public long StartTimestamp { get; }

    /// <summary>Completes with the init duration (ms) when the runtime first asks for an invocation.</summary>
    public TaskCompletionSource<double> Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when initialisation failed: the runtime posted /init/error, or exited before it was ready.</summary>
    public TaskCompletionSource<RuntimeFailure> InitFailed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the exit code when the runtime process exits.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>True until the first invocation after init has been reported (it carries the Init Duration).</summary>
    public bool ColdStartPending { get; set; } = true;

    public static RuntimeInstance Start(string file, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, string workingDirectory, LogSink sink)
    {
        var ownGroup = File.Exists(RuntimeLaunch.SetsidPath);
        var info = new ProcessStartInfo(ownGroup ? RuntimeLaunch.SetsidPath : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = Directory.Exists(workingDirectory) ? workingDirectory : AppContext.BaseDirectory,
        };
        if (ownGroup)
        {
            info.ArgumentList.Add(file);
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Clear();
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            var process = Process.Start(info) ?? throw new RuntimeLaunchException("Runtime.InvalidEntrypoint", $"Could not start {file}.");
            return new RuntimeInstance(process, ownGroup, sink, started);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new RuntimeLaunchException("Runtime.InvalidEntrypoint", $"Could not start {file}: {e.Message}");
        }
    }

    /// <summary>The runtime asked for work: initialisation is over.</summary>
    public void MarkReady() => Ready.TrySetResult(Stopwatch.GetElapsedTime(StartTimestamp).TotalMilliseconds);

    /// <summary>Lambda refuses /init/error once the runtime is past init.</summary>
    public bool ReportInitError(RuntimeFailure failure) => !Ready.Task.IsCompleted && InitFailed.TrySetResult(failure);

    /// <summary>Waits (bounded) until everything the runtime has written so far has reached the log sink.</summary>
    public async Task FlushOutputAsync()
    {
        // Two idle observations in a row, the second after yielding so a pump continuation already scheduled can run.
        var confirmed = false;
        for (var attempt = 0; attempt < 500; attempt++)
        {
            if (_pumps.All(p => p.IsIdle))
            {
                if (confirmed)
                {
                    break;
                }

                confirmed = true;
                await Task.Yield();
                continue;
            }

            confirmed = false;
            await Task.Delay(1).ConfigureAwait(false);
        }

        foreach (var pump in _pumps)
        {
            pump.FlushPartialLine();
        }
    }

    /// <summary>Kills the runtime's whole process tree and waits for it to exit.</summary>
    public async Task KillAsync(TimeSpan grace)
    {
        if (!_process.HasExited && grace > TimeSpan.Zero)
        {
            Signal(Sigterm);
            await Task.WhenAny(Exited, Task.Delay(grace)).ConfigureAwait(false);
        }

        Signal(Sigkill);
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        await Task.WhenAny(Exited, Task.Delay(TimeSpan.FromSeconds(30))).ConfigureAwait(false);
        await Task.WhenAny(Task.WhenAll(_pumps.Select(p => p.Completion)), Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
    }

    private void Signal(int signal)
    {
        if (_ownGroup && !_process.HasExited)
        {
            _ = kill(-_process.Id, signal);
        }
        else if (signal == Sigterm && !_process.HasExited)
        {
            _ = kill(_process.Id, signal);
        }
    }

    private async Task WatchExitAsync()
    {
        await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        var code = _process.ExitCode;
        InitFailed.TrySetResult(new RuntimeFailure("Runtime.ExitError", $"Runtime exited with error: exit status {code}"));
        _exited.TrySetResult(code);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
