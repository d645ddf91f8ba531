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
    private readonly bool _keeper;
    private readonly OutputPump[] _pumps;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _nextPolled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _bytesAtDispatch;

    private RuntimeInstance(Process process, bool ownGroup, bool keeper, LogSink sink, long startTimestamp)
    {
        _process = process;
        _ownGroup = ownGroup;
        _keeper = keeper;
        StartTimestamp = startTimestamp;
        _pumps = [new OutputPump(process.StandardOutput.BaseStream, sink), new OutputPump(process.StandardError.BaseStream, sink)];
        _ = WatchExitAsync();
    }

    /// <summary>The runtime's pid, or its keeper's (<see cref="HasKeeper"/>): the process this instance started.</summary>
    public int ProcessId => _process.Id;

    /// <summary>
    /// True when the process started is the runtime's keeper (<see cref="FnOperator.Sandboxing.Keeper"/>): the runtime is
    /// its child, signals go through it and its exit status is the runtime's.
    /// </summary>
    public bool HasKeeper => _keeper;

    public long StartTimestamp { get; }

    /// <summary>Completes with the init duration (ms) when the runtime first asks for an invocation.</summary>
    public TaskCompletionSource<double> Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when initialisation failed: the runtime posted /init/error, or exited before it was ready.</summary>
    public TaskCompletionSource<RuntimeFailure> InitFailed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the exit code when the runtime process exits.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>True until the first invocation after init has been reported (it carries the Init Duration).</summary>
    public bool ColdStartPending { get; set; } = true;

    public static RuntimeInstance Start(
        string file, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, string workingDirectory, LogSink sink, SandboxSettings? sandbox = null)
    {
        sandbox ??= new SandboxSettings();
        var (program, argv, ownGroup) = sandbox.Wrap(file, arguments, environment.GetValueOrDefault("PATH"));
        var keeper = sandbox.Keeper is { Count: > 0 };
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = Directory.Exists(workingDirectory) ? workingDirectory : AppContext.BaseDirectory,
        };
        foreach (var argument in argv)
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
            var process = new Process { StartInfo = info };
            FnOperator.Sandboxing.ProcessSandbox.Start(process);
            return new RuntimeInstance(process, ownGroup, keeper, sink, started);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new RuntimeLaunchException(
                "Runtime.InvalidEntrypoint", keeper ? $"Could not start the runtime's keeper {program}: {e.Message}" : $"Could not start {file}: {e.Message}");
        }
    }

    /// <summary>The runtime asked for work: initialisation is over.</summary>
    public void MarkReady()
    {
        Ready.TrySetResult(Stopwatch.GetElapsedTime(StartTimestamp).TotalMilliseconds);
        Volatile.Read(ref _nextPolled).TrySetResult();
    }

    /// <summary>Starts waiting for the runtime's next `GET next` (called as an invocation is handed to it).</summary>
    public void ExpectNextPoll()
    {
        Volatile.Write(ref _nextPolled, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _bytesAtDispatch = _pumps.Sum(p => p.BytesRead);
    }

    /// <summary>True when the runtime wrote output since <see cref="ExpectNextPoll"/> (so some may still be on its way).</summary>
    public bool WroteSinceDispatch => _pumps.Sum(p => p.BytesRead) != _bytesAtDispatch || !_pumps.All(p => p.IsIdle);

    /// <summary>True when every pipe can say exactly whether it is idle (<see cref="OutputPump.IdleIsExact"/>): then <see cref="WroteSinceDispatch"/> false means nothing is on its way.</summary>
    public bool OutputIdleIsExact => _pumps.All(p => p.IdleIsExact);

    /// <summary>Emits every pipe's line that has no newline yet, as the end of <see cref="FlushOutputAsync"/> does.</summary>
    public void FlushPartialLines()
    {
        foreach (var pump in _pumps)
        {
            pump.FlushPartialLine();
        }
    }

    /// <summary>Completes when the runtime asked for work again after <see cref="ExpectNextPoll"/>: its invocation is over.</summary>
    public Task NextPolled => Volatile.Read(ref _nextPolled).Task;

    /// <summary>Lambda refuses /init/error once the runtime is past init.</summary>
    public bool ReportInitError(RuntimeFailure failure) => !Ready.Task.IsCompleted && InitFailed.TrySetResult(failure);

    /// <summary>
    /// Waits (bounded by <see cref="DrainLimit"/>) until everything the runtime has written so far has reached the log
    /// sink: both pipes idle (no unread bytes, no read in progress) twice in a row and, after a flood (a read that filled
    /// the pump's buffer), no byte read for <see cref="QuietPeriod"/>: a runtime that buffers its output, as Node.js does
    /// for a pipe it cannot write fast enough, is still writing while its pipe is momentarily empty. Ordinary logging
    /// pays no quiet period.
    /// </summary>
    public async Task FlushOutputAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var confirmed = false;
        while (Stopwatch.GetElapsedTime(started) < DrainLimit)
        {
            if (_pumps.All(p => p.IsIdle) && _pumps.All(p => !p.Flooded || p.SinceLastRead >= QuietPeriod))
            {
                if (confirmed || _pumps.All(p => p.IdleIsExact))
                {
                    break;
                }

                // Where a pump cannot ask its pipe (IdleIsExact false), a second observation a moment later, so a pump
                // thread just back from its read (the pipe drained, the read not yet marked as processing) gets to mark it.
                // A short spin: the pumps are threads of their own (OutputPump), so a Task.Yield here (from when they were pool continuations) let nothing run that needed
                // to and woke a thread-pool worker on every invocation's critical path; a Thread.Yield gives the processor
                // away on a loaded machine (issue #19).
                confirmed = true;
                Thread.SpinWait(30);
                continue;
            }

            confirmed = false;
            await Task.Delay(1).ConfigureAwait(false);
        }

        FlushPartialLines();
    }

    /// <summary>
    /// Concurrency: waits (bounded by <see cref="DrainLimit"/>) until every byte the runtime had written when this was called
    /// has been read and its complete lines handed to the log sink. Other invocations keep writing meanwhile, so this does not
    /// wait for quiet pipes, and a partial line is left for its newline (it may be another invocation's).
    /// </summary>
    public async Task FlushOutputWrittenAsync()
    {
        var targets = _pumps.Select(p => p.BytesWritten).ToArray();
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < _pumps.Length; i++)
        {
            while (_pumps[i].BytesEmitted < targets[i] && !_pumps[i].Completion.IsCompleted && Stopwatch.GetElapsedTime(started) < DrainLimit)
            {
                await Task.Delay(1).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The longest an invocation's end waits for the runtime's output to drain.</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(5);

    /// <summary>How long the pipes must have been silent for the output to count as complete.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(50);

    /// <summary>Kills the runtime's process group and tree at once without waiting (the memory watchdog's action).</summary>
    public void KillNow()
    {
        Signal(Sigkill);
        if (!_keeper)
        {
            KillTree();
        }
    }

    /// <summary>
    /// How Lambda words a runtime's end: "exit status N", or for a process ended by a signal (.NET reports 128 + N) the Go
    /// name Lambda prints, e.g. "signal: killed" after SIGKILL.
    /// </summary>
    public static string ExitDescription(int code) => code switch
    {
        > 128 and < 160 => (code - 128) switch
        {
            1 => "signal: hangup",
            2 => "signal: interrupt",
            3 => "signal: quit",
            4 => "signal: illegal instruction",
            6 => "signal: aborted",
            7 => "signal: bus error",
            8 => "signal: floating point exception",
            9 => "signal: killed",
            11 => "signal: segmentation fault",
            13 => "signal: broken pipe",
            15 => "signal: terminated",
            var n => $"signal: {n}",
        },
        _ => $"exit status {code}",
    };

    /// <summary>Kills the runtime's whole process tree and waits for it to exit.</summary>
    public async Task KillAsync(TimeSpan grace)
    {
        if (!_process.HasExited && grace > TimeSpan.Zero)
        {
            Signal(Sigterm);
            await Task.WhenAny(Exited, Task.Delay(grace)).ConfigureAwait(false);
        }

        Signal(Sigkill);
        if (_keeper)
        {
            // The keeper kills the runtime and what it left, then exits; SIGKILLing the keeper first would hand its
            // orphans to init. Only a keeper that does not exit is killed with its tree (bounded).
            await Task.WhenAny(Exited, Task.Delay(KeeperGrace)).ConfigureAwait(false);
        }

        KillTree();
        await Task.WhenAny(Exited, Task.Delay(TimeSpan.FromSeconds(30))).ConfigureAwait(false);
        await Task.WhenAny(Task.WhenAll(_pumps.Select(p => p.Completion)), Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
    }

    /// <summary>How long a keeper gets to kill its runtime and exit before it is killed with its process tree.</summary>
    public static readonly TimeSpan KeeperGrace = TimeSpan.FromSeconds(5);

    private void KillTree()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private void Signal(int signal)
    {
        if (_keeper)
        {
            // SIGTERM is forwarded to the runtime's group by the keeper; SIGKILL is the keeper's kill signal.
            if (!_process.HasExited)
            {
                _ = kill(_process.Id, signal == Sigkill ? FnOperator.Sandboxing.Keeper.KillSignal : signal);
            }
        }
        else if (_ownGroup && !_process.HasExited)
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

        // Whatever the runtime left behind (children re-parented to the shim, setsid'ed or double-forked) dies with it:
        // killed here, or by its keeper before the keeper exited.
        FnOperator.Sandboxing.ProcessSandbox.Untrack(_process.Id);
        if (!_keeper)
        {
            FnOperator.Sandboxing.ProcessSandbox.KillOrphans();
        }

        InitFailed.TrySetResult(new RuntimeFailure("Runtime.ExitError", $"Runtime exited with error: {ExitDescription(code)}"));
        _exited.TrySetResult(code);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
