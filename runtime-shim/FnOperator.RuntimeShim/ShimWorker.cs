using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The shim's main loop: one invocation at a time from the source to the runtime and back. On shutdown it stops pulling,
/// releases an invocation it has not started, lets the in-flight one finish (drain), then stops the runtime.
/// </summary>
public sealed partial class ShimWorker(
    IInvocationSource source, InvocationRunner runner, RuntimeSupervisor supervisor, ShimReadiness readiness,
    IHostApplicationLifetime lifetime, ILogger<ShimWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            supervisor.Start(await readiness.RuntimeApiAddress.WaitAsync(stoppingToken).ConfigureAwait(false));
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

                if (invocation is null)
                {
                    lifetime.StopApplication();
                    break;
                }

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
                Payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new { errorType = "Runtime.Unknown", errorMessage = "The runtime-shim failed to run the invocation." }),
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
        catch (OperationCanceledException)
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
        catch (OperationCanceledException)
        {
            LogResultLost(logger, invocation.RequestId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Released invocation unstarted because the shim is stopping, requestId={RequestId}")]
    private static partial void LogReleased(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not hand invocation back to the source; it will be redelivered, requestId={RequestId}")]
    private static partial void LogResultLost(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Invocation failed inside the shim, requestId={RequestId}")]
    private static partial void LogInvocationCrashed(ILogger logger, string requestId, Exception exception);
}

/// <summary>Shared start-up state: the bound Runtime API address (known only after Kestrel started) and readiness.</summary>
public sealed class ShimReadiness
{
    private readonly TaskCompletionSource<string> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<string> RuntimeApiAddress => _address.Task;

    public void SetRuntimeApiAddress(string address) => _address.TrySetResult(address);
}
