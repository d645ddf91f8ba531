using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Contracts.Scaling;
using Microsoft.Extensions.Logging;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Queued, in-flight and waiting synchronous invocations of one function, as the autoscaler sees them; and how many were
/// handed to instances so far (<see cref="Queue.IInvocationQueue.HandOuts"/>; null when not counted).
/// </summary>
public readonly record struct FunctionLoad(int Queued, int InFlight, int WaitingSync = 0, long? HandOuts = null);

/// <summary>The queue as seen by a pool: the current load, and a wait that ends early when work arrives.</summary>
public interface IFunctionLoadSource
{
    FunctionLoad GetLoad(string ns, string name);

    /// <summary>Returns when work was queued for the function, or after <paramref name="timeout"/>.</summary>
    Task WaitForWorkAsync(string ns, string name, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>
/// The shim+runtime processes of one function, local mode's actuator of the shared <see cref="ScalingPolicy"/>:
/// started on demand when work is queued, stopped after the idle window, never more than the concurrency limit,
/// crashed ones replaced (with backoff when they crash right after starting).
/// </summary>
public sealed partial class FunctionPool(
    LocalFunction function,
    ShimLaunch launch,
    ScalingLimits limits,
    IFunctionLoadSource load,
    ProcessOutput output,
    TimeProvider time,
    ILogger<FunctionPool> logger,
    IInstanceLauncher? launcher = null)
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan FirstCrashBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxCrashBackoff = TimeSpan.FromSeconds(30);
    private readonly List<IFunctionInstance> instances = [];
    private readonly IInstanceLauncher launcher = launcher ?? ProcessLauncher.Instance;
    private readonly List<Task> stopping = [];
    private DateTimeOffset lastBusy;
    private long? lastHandOuts;
    private KeepAliveTracker? keepAliveTracker;
    private DateTimeOffset nextStartAllowed;
    private int crashes;
    private CancellationToken stopNow;
    private int restartRequested;

    /// <summary>Instances running now (not counting ones being stopped).</summary>
    public int Running { get { lock (instances) { return instances.Count; } } }

    public ScalingLimits Limits => limits;

    private KeepAliveTracker KeepAliveState => keepAliveTracker ??= new KeepAliveTracker(FunctionScaling.KeepAlive(function.Function.Spec));

    /// <summary>
    /// A function's limits in local mode: the spec's (<see cref="FunctionScaling.Limits"/>), with its
    /// concurrency.perInstance (a node function's shim runs that many invocations at once, docs/concurrency.md; every other
    /// runtime is held to 1 by the validator), so reserved concurrency caps instances at ceil(reserved / perInstance).
    /// </summary>
    public static ScalingLimits LimitsFor(FunctionSpec spec, TimeSpan? idleOverride = null) =>
        FunctionScaling.Limits(spec, idleOverride, perInstance: FunctionPerInstance.Problem(spec) is null ? spec.Concurrency?.PerInstance ?? 1 : 1);

    /// <summary>How long a stopping instance may take to finish its in-flight invocation before it is killed.</summary>
    public TimeSpan StopGrace => TimeSpan.FromSeconds(function.Function.Spec.TimeoutSeconds + 5);

    /// <summary>Runs until <paramref name="cancellationToken"/>, then drains; <paramref name="stopNow"/> kills instances still draining.</summary>
    public async Task RunAsync(CancellationToken cancellationToken, CancellationToken stopNow = default)
    {
        this.stopNow = stopNow;
        lastBusy = time.GetUtcNow();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Step();
                await load.WaitForWorkAsync(function.Namespace, function.Name, Tick, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            await StopAllAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One autoscaler pass: drop exited instances, then start or stop instances to match the desired count.</summary>
    private void Step()
    {
        var now = time.GetUtcNow();
        ReapExited(now);
        if (Interlocked.Exchange(ref restartRequested, 0) == 1)
        {
            RestartAll(now);
        }

        var current = load.GetLoad(function.Namespace, function.Name);

        // Work that started (and perhaps ended) since the last look is busy too: the queue does not wake the pool for
        // work a waiting instance took at once, and a stream of short invocations between ticks must keep it warm.
        var startedSince = current.HandOuts is { } handOuts && lastHandOuts is { } before && handOuts != before;
        lastHandOuts = current.HandOuts;
        var busy = current.Queued + current.InFlight + current.WaitingSync > 0 || startedSince;
        KeepAliveState.Observe(busy, now - lastBusy); // scaling.keepAlive: the same policy as the cluster autoscaler's
        if (busy)
        {
            lastBusy = now;
        }

        int running;
        lock (instances)
        {
            running = instances.Count;
        }

        var decision = ScalingPolicy.Decide(new ScalingInput(current.Queued, current.InFlight, current.WaitingSync, running, now - lastBusy), KeepAliveState.Apply(limits, now - lastBusy));
        var desired = decision.Desired;
        if (desired > running && now >= nextStartAllowed)
        {
            for (var i = running; i < desired; i++)
            {
                StartOne(now);
            }

            LogScaled(logger, function.Name, running, desired, current.Queued, current.InFlight, decision.Reason);
        }
        else if (desired < running)
        {
            List<IFunctionInstance> surplus;
            lock (instances)
            {
                surplus = instances.TakeLast(running - desired).ToList();
                instances.RemoveRange(desired, running - desired);
            }

            stopping.RemoveAll(t => t.IsCompleted);
            stopping.AddRange(surplus.Select(StopAsync));
            LogScaled(logger, function.Name, running, desired, current.Queued, current.InFlight, decision.Reason);
        }
    }

    /// <summary>Asks the pool to replace its running instances (e.g. the code changed); returns how many it will replace.</summary>
    public int RequestRestart()
    {
        Interlocked.Exchange(ref restartRequested, 1);
        return Running;
    }

    private void RestartAll(DateTimeOffset now)
    {
        List<IFunctionInstance> old;
        lock (instances)
        {
            old = [.. instances];
            instances.Clear();
        }

        stopping.RemoveAll(t => t.IsCompleted);
        stopping.AddRange(old.Select(StopAsync));
        foreach (var _ in old)
        {
            StartOne(now);
        }
    }

    private void StartOne(DateTimeOffset now)
    {
        try
        {
            var instance = launcher.Start(launch, output, now);
            lock (instances)
            {
                instances.Add(instance);
            }
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            LogStartFailed(logger, e, function.Name);
            DelayNextStart(now);
        }
    }

    private void ReapExited(DateTimeOffset now)
    {
        List<IFunctionInstance> dead;
        lock (instances)
        {
            dead = instances.Where(i => i.Exited.IsCompleted).ToList();
            instances.RemoveAll(dead.Contains);
        }

        foreach (var instance in dead)
        {
            output.Prefixed(function.Name, $"instance {instance.Name} exited unexpectedly with code {instance.Exited.Result}; replacing it when there is work");
            if (now - instance.StartedAt < TimeSpan.FromSeconds(10))
            {
                DelayNextStart(now);
            }
            else
            {
                crashes = 0;
            }

            _ = instance.DisposeAsync().AsTask();
        }
    }

    /// <summary>An instance crashed right after starting (or could not start): the next start waits 1 s doubling to 30 s.</summary>
    private void DelayNextStart(DateTimeOffset now)
    {
        var delay = Backoff.Exponential(++crashes, FirstCrashBackoff, MaxCrashBackoff);
        nextStartAllowed = now + delay;
        LogBackoff(logger, function.Name, delay.TotalSeconds);
    }

    private async Task StopAsync(IFunctionInstance instance)
    {
        await instance.StopAsync(StopGrace, stopNow).ConfigureAwait(false);
        await instance.DisposeAsync().ConfigureAwait(false);
    }

    private async Task StopAllAsync()
    {
        List<IFunctionInstance> all;
        lock (instances)
        {
            all = [.. instances];
            instances.Clear();
        }

        stopping.AddRange(all.Select(StopAsync));
        await Task.WhenAll(stopping).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scaled function {Function} from {From} to {To} instances (queued={Queued}, inFlight={InFlight}, reason={Reason})")]
    private static partial void LogScaled(ILogger logger, string function, int from, int to, int queued, int inFlight, ScalingReason reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Failed to start runtime-shim for function {Function}")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, string function);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delayed restarts of function {Function} by {Seconds} s after an early exit")]
    private static partial void LogBackoff(ILogger logger, string function, double seconds);
}
