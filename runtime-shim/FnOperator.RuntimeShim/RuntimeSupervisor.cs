using System.Collections;
using System.Diagnostics;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>What <see cref="RuntimeSupervisor.EnsureReadyAsync"/> found.</summary>
public sealed record ReadyState(RuntimeInstance? Instance, RuntimeFailure? Failure, double? InitDurationMs)
{
    public bool IsReady => Instance is not null && Failure is null;
}

/// <summary>
/// Keeps one runtime process for the function: starts it, tells when it is ready, replaces it after a timeout or crash, and
/// backs off (0.5 s doubling to 30 s) after failed initialisations instead of restarting in a hot loop.
/// </summary>
public sealed partial class RuntimeSupervisor(ShimOptions options, LogSink sink, MemorySampler memory, ILogger<RuntimeSupervisor> logger)
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string _runtimeApi = "";
    private RuntimeInstance? _current;
    private RuntimeFailure? _lastFailure;
    private long _retryAfter;
    private int _failures;
    private bool _stopped;

    public RuntimeInstance? Current => _current;

    /// <summary>True when a runtime is initialised and no init failure is pending.</summary>
    public bool IsHealthy => _current is { Ready.Task.IsCompleted: true, Exited.IsCompleted: false };

    public IDictionary InheritedEnvironment { get; init; } = Environment.GetEnvironmentVariables();

    /// <summary>Starts the first runtime as soon as the Runtime API address is known (init runs while waiting for work), unless <see cref="Adopt"/> gave it one.</summary>
    public void Start(string runtimeApiAddress)
    {
        _runtimeApi = runtimeApiAddress;
        if (_current is null)
        {
            TryStartLocked();
        }
    }

    /// <summary>A runtime launched before the supervisor existed (<see cref="TryPrelaunch"/>).</summary>
    public sealed record Prelaunched(RuntimeInstance Instance, string File, SandboxSettings Sandbox, string RuntimeApi);

    /// <summary>
    /// Launches the first runtime before the shim's web host is built (a cold start's critical path is the runtime's
    /// init, docs/performance.md); <see cref="Adopt"/> hands it to the supervisor. Null when it cannot be launched this way:
    /// the normal start then launches it and reports any failure as before.
    /// </summary>
    public static Prelaunched? TryPrelaunch(ShimOptions options, string runtimeApiAddress, LogSink sink, IDictionary? inherited = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            return Launch(options, runtimeApiAddress, inherited ?? Environment.GetEnvironmentVariables(), sink);
        }
        catch (Exception e) when (e is RuntimeLaunchException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Launches a runtime: its command, its environment from <paramref name="inherited"/>, its sandbox.</summary>
    private static Prelaunched Launch(ShimOptions options, string runtimeApi, IDictionary inherited, LogSink sink)
    {
        var (file, arguments) = RuntimeLaunch.Resolve(options);
        var environment = RuntimeLaunch.Environment(options, runtimeApi, inherited);
        var sandbox = SandboxSettings.From(inherited);
        return new Prelaunched(RuntimeInstance.Start(file, arguments, environment, options.TaskRoot, sink, sandbox), file, sandbox, runtimeApi);
    }

    /// <summary>Takes over the runtime of <see cref="TryPrelaunch"/> as the current one (before <see cref="Start"/>).</summary>
    public void Adopt(Prelaunched launched)
    {
        ArgumentNullException.ThrowIfNull(launched);
        _runtimeApi = launched.RuntimeApi;
        Track(launched.Instance, launched.Sandbox, launched.File);
    }

    /// <summary>Called from `GET next`: the runtime is idle (init or its invocation is over), so memory sampling pauses.</summary>
    public void OnNextPolled()
    {
        _current?.MarkReady();
        memory.Pause();
    }

    /// <summary>Called when `GET next` hands the runtime an invocation: memory sampling runs while it works.</summary>
    public void OnInvocationDelivered() => memory.Resume();

    /// <summary>Called from `POST init/error`; false when the runtime is past init.</summary>
    public bool OnInitError(RuntimeFailure failure) => _current?.ReportInitError(failure) ?? false;

    /// <summary>Waits until the runtime is ready for an invocation, starting one if needed; bounded by <paramref name="wait"/>.</summary>
    public async Task<ReadyState> EnsureReadyAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_current is { Exited.IsCompleted: true, Ready.Task.IsCompleted: true })
            {
                await ReplaceLockedAsync(null).ConfigureAwait(false);
            }

            if (_current is null)
            {
                if (_lastFailure is not null && Stopwatch.GetTimestamp() < _retryAfter)
                {
                    return new ReadyState(null, _lastFailure, null);
                }

                if (TryStartLocked() is { } launchFailure)
                {
                    return new ReadyState(null, launchFailure, null);
                }
            }

            var instance = _current!;
            if (!instance.Ready.Task.IsCompleted && !instance.InitFailed.Task.IsCompleted)
            {
                // Only while the runtime initialises: a warm runtime (every invocation but the first) needs no timer.
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(wait);
                var waitTask = Task.Delay(Timeout.Infinite, timeout.Token);
                await Task.WhenAny(instance.Ready.Task, instance.InitFailed.Task, waitTask).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (instance.Ready.Task.IsCompleted && !instance.Exited.IsCompleted)
            {
                _failures = 0;
                _lastFailure = null;
                double? init = instance.ColdStartPending ? instance.Ready.Task.Result : null;
                instance.ColdStartPending = false;
                return new ReadyState(instance, null, init);
            }

            var failure = instance.InitFailed.Task.IsCompleted
                ? instance.InitFailed.Task.Result
                : new RuntimeFailure("Sandbox.Timedout", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Runtime init timed out after {wait.TotalSeconds:0.00} seconds"));
            LogInitFailed(logger, failure.ErrorType, failure.ErrorMessage);
            await RecordFailureLocked(failure).ConfigureAwait(false);
            return new ReadyState(null, failure, null);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Kills the current runtime (after a timeout or crash) and starts a fresh one for the next invocation.</summary>
    public Task ResetAsync(string reason) => ResetAsync(reason, null);

    /// <summary>
    /// As <see cref="ResetAsync(string)"/>, but only while <paramref name="only"/> is still the current runtime: concurrent
    /// invocations that all saw the same runtime die replace it once.
    /// </summary>
    public async Task ResetAsync(string reason, RuntimeInstance? only)
    {
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (only is not null && !ReferenceEquals(_current, only))
            {
                return;
            }

            LogRuntimeReset(logger, reason);
            ShimMetrics.RuntimeRestarts.Inc();
            await ReplaceLockedAsync(null).ConfigureAwait(false);
            TryStartLocked();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the runtime (SIGTERM to its process group, then SIGKILL); no runtime is started after this.</summary>
    public async Task StopAsync()
    {
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            _stopped = true;
            if (_current is { } instance)
            {
                _current = null;
                await instance.KillAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task RecordFailureLocked(RuntimeFailure failure)
    {
        _failures++;
        _lastFailure = failure;
        var backoff = Backoff.Exponential(_failures, FirstBackoff, MaxBackoff);
        _retryAfter = Stopwatch.GetTimestamp() + (long)(backoff.TotalSeconds * Stopwatch.Frequency);
        await ReplaceLockedAsync(null).ConfigureAwait(false);
    }

    private async Task ReplaceLockedAsync(RuntimeInstance? next)
    {
        var old = _current;
        _current = next;
        if (old is not null)
        {
            await old.KillAsync(TimeSpan.Zero).ConfigureAwait(false);
        }
    }

    private RuntimeFailure? TryStartLocked()
    {
        if (_stopped)
        {
            return new RuntimeFailure("Runtime.Stopped", "The runtime-shim is stopping.");
        }

        try
        {
            var launched = Launch(options, _runtimeApi, InheritedEnvironment, sink);
            Track(launched.Instance, launched.Sandbox, launched.File);
            return null;
        }
        catch (RuntimeLaunchException e)
        {
            var failure = new RuntimeFailure(e.ErrorType, e.Message);
            LogInitFailed(logger, failure.ErrorType, failure.ErrorMessage);
            _failures++;
            _lastFailure = failure;
            _retryAfter = Stopwatch.GetTimestamp() + (long)(Backoff.Exponential(_failures, FirstBackoff, MaxBackoff).TotalSeconds * Stopwatch.Frequency);
            return failure;
        }
    }

    private void Track(RuntimeInstance instance, SandboxSettings sandbox, string file)
    {
        _current = instance;
        memory.Track(instance.ProcessId, sandbox.EnforceMemory ? options.MemorySizeMb * 1024L * 1024L : 0, () =>
        {
            LogMemoryLimit(logger, instance.ProcessId, options.MemorySizeMb);
            instance.KillNow();
        }, rootIsKeeper: instance.HasKeeper);
        if (instance.HasKeeper)
        {
            LogRuntimeStartedWithKeeper(logger, file, instance.ProcessId);
        }
        else
        {
            LogRuntimeStarted(logger, file, instance.ProcessId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started runtime, command={Command} pid={Pid}")]
    private static partial void LogRuntimeStarted(ILogger logger, string command, int pid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Started runtime, command={Command} keeper={Pid}")]
    private static partial void LogRuntimeStartedWithKeeper(ILogger logger, string command, int pid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Runtime initialisation failed, errorType={ErrorType} message={Message}")]
    private static partial void LogInitFailed(ILogger logger, string errorType, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Killed runtime over its memory size, pid={Pid} memorySizeMb={MemorySizeMb}")]
    private static partial void LogMemoryLimit(ILogger logger, int pid, int memorySizeMb);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reset runtime, reason={Reason}")]
    private static partial void LogRuntimeReset(ILogger logger, string reason);
}
