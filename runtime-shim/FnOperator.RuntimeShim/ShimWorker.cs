using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The shim's main loop: one invocation at a time from the source to the runtime and back, or with
/// AWS_LAMBDA_MAX_CONCURRENCY = N &gt; 1 N lanes, each leasing and running one invocation at a time (docs/concurrency.md).
/// On shutdown it stops pulling, releases an invocation it has not started, lets the in-flight ones finish (drain), then
/// stops the runtime.
/// </summary>
/// <remarks>
/// Not a hosted service: the host's stop order would shut Kestrel down before the drain finished, so
/// <see cref="ShimHost"/> runs this loop itself and stops the web listeners only after it returned.
/// </remarks>
public sealed partial class ShimWorker(
    IInvocationSource source, InvocationRunner runner, RuntimeSupervisor supervisor, ILogger<ShimWorker> logger, InvocationSlot slot)
{
    /// <summary>How often the first lane, waiting for the runtime to poll, checks that the runtime is still healthy.</summary>
    private static readonly TimeSpan ClaimRecheck = TimeSpan.FromSeconds(1);
    private int _abandoned;

    /// <summary>Runs until <paramref name="stoppingToken"/> fires (then drains) or the source closes.</summary>
    public async Task RunAsync(string runtimeApiAddress, CancellationToken stoppingToken)
    {
        if (slot.Capacity > 1)
        {
            await RunLanesAsync(runtimeApiAddress, stoppingToken).ConfigureAwait(false);
            return;
        }

        try
        {
            supervisor.Start(runtimeApiAddress);
            while (!stoppingToken.IsCancellationRequested)
            {
                Invocation? invocation;
                try
                {
                    invocation = await source.NextAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A source failure must not end the shim: log it and ask again after a pause.
                    LogSourceFailed(logger, e);
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                    continue;
                }

                if (invocation is null)
                {
                    break;
                }

                LogReceived(logger, invocation.RequestId, invocation.Attempt);
                await HandleAsync(invocation, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await supervisor.StopAsync().ConfigureAwait(false);
        }
    }

    private async Task RunLanesAsync(string runtimeApiAddress, CancellationToken stoppingToken)
    {
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        try
        {
            supervisor.Start(runtimeApiAddress);
            await Task.WhenAll(Enumerable.Range(0, slot.Capacity).Select(lane => Task.Run(() => LaneAsync(lane, closed, stoppingToken)))).ConfigureAwait(false);
        }
        finally
        {
            await supervisor.StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One lane: claims a `GET next` the runtime has waiting (so a runtime that polls once at a time is leased one invocation
    /// at a time), leases one invocation, runs it, hands back its result; after a timeout it waits for the runtime's late
    /// answer (the runtime still runs it) or for the runtime's end. Lane 0 leases without a claim while the runtime is not
    /// healthy, so an invocation still (re)starts a runtime that failed or is not running, as the one-at-a-time loop does.
    /// </summary>
    private async Task LaneAsync(int lane, CancellationTokenSource closed, CancellationToken stoppingToken)
    {
        var token = closed.Token;
        while (!token.IsCancellationRequested)
        {
            bool claimed;
            try
            {
                claimed = await ClaimAsync(lane, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }

            Invocation? invocation;
            try
            {
                invocation = await source.NextAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                ReleaseClaim(claimed);
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                ReleaseClaim(claimed);
                LogSourceFailed(logger, e);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                continue;
            }

            if (invocation is null)
            {
                // The source closed: every lane stops pulling (their in-flight invocations still finish).
                ReleaseClaim(claimed);
                await closed.CancelAsync().ConfigureAwait(false);
                break;
            }

            LogReceived(logger, invocation.RequestId, invocation.Attempt);
            var abandoned = await HandleConcurrentAsync(invocation, claimed, stoppingToken).ConfigureAwait(false);
            if (abandoned is { } run)
            {
                await WaitForLateAnswerAsync(run, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> ClaimAsync(int lane, CancellationToken token)
    {
        while (true)
        {
            if (lane == 0 && !supervisor.IsHealthy)
            {
                return false;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(token);
            if (lane == 0)
            {
                wait.CancelAfter(ClaimRecheck);
            }

            try
            {
                await slot.ClaimIdlePollAsync(wait.Token).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                // Lane 0's recheck of the runtime's health.
            }
        }
    }

    private void ReleaseClaim(bool claimed)
    {
        if (claimed)
        {
            slot.ReleaseClaim();
        }
    }

    /// <summary>
    /// After a timeout the runtime still runs the invocation in this lane: the lane waits for its late answer or the runtime's
    /// end. When every lane waits so, nothing can run: the runtime is replaced (docs/concurrency.md).
    /// </summary>
    private async Task WaitForLateAnswerAsync(ConcurrentRun run, CancellationToken stoppingToken)
    {
        var active = run.Abandoned!;
        var runtime = run.Runtime!;
        if (Interlocked.Increment(ref _abandoned) >= slot.Capacity)
        {
            LogAllLanesAbandoned(logger, slot.Capacity);
            _ = supervisor.ResetAsync("every concurrent invocation timed out", runtime);
        }

        try
        {
            await Task.WhenAny(active.LateAnswer, runtime.Exited, Task.Delay(Timeout.Infinite, stoppingToken)).ConfigureAwait(false);
        }
        finally
        {
            slot.Forget(active);
            Interlocked.Decrement(ref _abandoned);
        }
    }

    private async Task<ConcurrentRun?> HandleConcurrentAsync(Invocation invocation, bool claimed, CancellationToken stoppingToken)
    {
        if (stoppingToken.IsCancellationRequested)
        {
            ReleaseClaim(claimed);
            await ReleaseAsync(invocation).ConfigureAwait(false);
            return null;
        }

        ConcurrentRun? run;
        InvocationResult result;
        try
        {
            run = await runner.RunConcurrentAsync(invocation, claimed, stoppingToken).ConfigureAwait(false);
            if (run is null)
            {
                ReleaseClaim(claimed);
                await ReleaseAsync(invocation).ConfigureAwait(false);
                return null;
            }

            result = run.Result;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogInvocationCrashed(logger, invocation.RequestId, e);
            run = null;
            result = new InvocationResult
            {
                RequestId = invocation.RequestId,
                Outcome = InvocationOutcome.FunctionError,
                FunctionError = "Unhandled",
                ErrorType = "Runtime.Unknown",
                ExecutedVersion = invocation.Version,
                Payload = ShimJson.Object(new() { ["errorType"] = "Runtime.Unknown", ["errorMessage"] = "The runtime-shim failed to run the invocation." }),
            };
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await source.CompleteAsync(invocation, result, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
        {
            LogResultLost(logger, invocation.RequestId);
        }

        return run is { Abandoned: not null, Runtime: not null } ? run : null;
    }

    private async Task HandleAsync(Invocation invocation, CancellationToken stoppingToken)
    {
        if (stoppingToken.IsCancellationRequested)
        {
            await ReleaseAsync(invocation).ConfigureAwait(false);
            return;
        }

        InvocationResult? result;
        try
        {
            result = await runner.RunAsync(invocation, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogInvocationCrashed(logger, invocation.RequestId, e);
            result = new InvocationResult
            {
                RequestId = invocation.RequestId,
                Outcome = InvocationOutcome.FunctionError,
                FunctionError = "Unhandled",
                ErrorType = "Runtime.Unknown",
                ExecutedVersion = invocation.Version,
                Payload = ShimJson.Object(new() { ["errorType"] = "Runtime.Unknown", ["errorMessage"] = "The runtime-shim failed to run the invocation." }),
            };
        }

        if (result is null)
        {
            await ReleaseAsync(invocation).ConfigureAwait(false);
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await source.CompleteAsync(invocation, result, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
        {
            LogResultLost(logger, invocation.RequestId);
        }
    }

    private async Task ReleaseAsync(Invocation invocation)
    {
        LogReleased(logger, invocation.RequestId);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await source.ReleaseAsync(invocation, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
        {
            LogResultLost(logger, invocation.RequestId);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Invocation source failed; retrying")]
    private static partial void LogSourceFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Received invocation, requestId={RequestId} attempt={Attempt}")]
    private static partial void LogReceived(ILogger logger, string requestId, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released invocation unstarted because the shim is stopping, requestId={RequestId}")]
    private static partial void LogReleased(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not hand invocation back to the source; it will be redelivered, requestId={RequestId}")]
    private static partial void LogResultLost(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "All {Lanes} concurrent invocations timed out and are still running; replacing the runtime")]
    private static partial void LogAllLanesAbandoned(ILogger logger, int lanes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Invocation failed inside the shim, requestId={RequestId}")]
    private static partial void LogInvocationCrashed(ILogger logger, string requestId, Exception exception);
}
