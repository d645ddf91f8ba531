using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Async;

/// <summary>
/// Periodically takes queued Event invocations past their function's maximum event age out of the queue and sends
/// their EventAgeExceeded records, so events that no worker will ever take (reserved concurrency 0, no instances)
/// still reach the failure destination, as in Lambda.
/// </summary>
public sealed partial class EventAgeReaper(
    FunctionRegistry functions,
    IInvocationQueue queue,
    AsyncInvocationProcessor asyncProcessor,
    GatewayOptions options,
    TimeProvider time,
    ILogger<EventAgeReaper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.EventAgeCheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await ReapAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass over every registered function. Failures are logged; the next pass tries again.</summary>
    public async Task ReapAsync(CancellationToken cancellationToken)
    {
        foreach (var (key, _) in functions.All)
        {
            try
            {
                foreach (var expired in queue.TakeQueued(key, asyncProcessor.IsExpired) ?? [])
                {
                    await asyncProcessor.ExpireAsync(expired, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogReapFailed(logger, ex, key.Namespace, key.Name);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Failed to expire aged events namespace={Namespace} function={Function}")]
    private static partial void LogReapFailed(ILogger logger, Exception exception, string @namespace, string function);
}
