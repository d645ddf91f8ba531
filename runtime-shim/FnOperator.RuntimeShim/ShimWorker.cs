using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The shim's main loop: one invocation at a time from the source to the runtime and back. On shutdown it stops pulling,
/// releases an invocation it has not started, lets the in-flight one finish (drain), then stops the runtime.
/// </summary>
/// <remarks>
/// Not a hosted service: the host's stop order would shut Kestrel down before the drain finished, so
/// <see cref="ShimHost"/> runs this loop itself and stops the web listeners only after it returned.
/// </remarks>
public sealed partial class ShimWorker(
    IInvocationSource source, InvocationRunner runner, RuntimeSupervisor supervisor, ILogger<ShimWorker> logger)
{
    /// <summary>Runs until <paramref name="stoppingToken"/> fires (then drains) or the source closes.</summary>
    public async Task RunAsync(string runtimeApiAddress, CancellationToken stoppingToken)
    {
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Invocation failed inside the shim, requestId={RequestId}")]
    private static partial void LogInvocationCrashed(ILogger logger, string requestId, Exception exception);
}
