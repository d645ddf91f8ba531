using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Metrics;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Async;

/// <summary>
/// Lambda's asynchronous invocation semantics, applied when an Event attempt completes or is found too old:
/// retries with backoff (spec.async.maximumRetryAttempts, base delay doubled per retry), maximum event age, and
/// invocation records to the OnSuccess/OnFailure destinations or the function's dead-letter queue. All of these are
/// the settings of the version the invocation resolved to (a published version's frozen spec, not $LATEST's).
/// </summary>
public sealed partial class AsyncInvocationProcessor(
    FunctionRegistry functions,
    IInvocationQueue queue,
    IDestinationQueues destinations,
    GatewayMetrics metrics,
    GatewayOptions options,
    TimeProvider time,
    ILogger<AsyncInvocationProcessor> logger)
{
    /// <summary>Decides what follows an attempt: nothing more, a retry, or a record to a destination.</summary>
    public async Task OnAttemptCompletedAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken)
    {
        var key = new FunctionKey(invocation.Namespace, invocation.FunctionName);
        var config = AsyncConfig(key, invocation.Version);
        if (result.Outcome == InvocationOutcome.Success)
        {
            if (config.Destinations?.OnSuccess is { } onSuccess)
            {
                await DeliverAsync(key, onSuccess, invocation, DestinationRecord.Success, invocation.Attempt, result, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var maxAttempts = 1 + Math.Clamp(config.MaximumRetryAttempts, 0, 2);
        if (invocation.Attempt >= maxAttempts)
        {
            await FailAsync(key, config, invocation, DestinationRecord.RetriesExhausted, invocation.Attempt, result, cancellationToken).ConfigureAwait(false);
            return;
        }

        var delay = Backoff.Exponential(invocation.Attempt, options.RetryBaseDelay, TimeSpan.MaxValue);
        if (time.GetUtcNow() + delay - invocation.AcceptedAt > TimeSpan.FromSeconds(config.MaximumEventAgeSeconds))
        {
            await FailAsync(key, config, invocation, DestinationRecord.EventAgeExceeded, invocation.Attempt, result, cancellationToken).ConfigureAwait(false);
            return;
        }

        var retry = invocation with { Attempt = invocation.Attempt + 1 };
        await queue.EnqueueAsync(retry, new EnqueueOptions(AckWait(key, invocation.Version), delay), cancellationToken).ConfigureAwait(false);
        metrics.RetryScheduled(key);
        LogRetryScheduled(logger, key.Namespace, key.Name, invocation.RequestId, retry.Attempt, delay);
    }

    /// <summary>True when the Event invocation is older than the function's maximum event age (and must not run).</summary>
    public bool IsExpired(Invocation invocation) =>
        invocation.Type == InvocationType.Event
        && time.GetUtcNow() - invocation.AcceptedAt > TimeSpan.FromSeconds(AsyncConfig(new FunctionKey(invocation.Namespace, invocation.FunctionName), invocation.Version).MaximumEventAgeSeconds);

    /// <summary>Sends the EventAgeExceeded record for an invocation that aged out before its next attempt.</summary>
    public Task ExpireAsync(Invocation invocation, CancellationToken cancellationToken)
    {
        var key = new FunctionKey(invocation.Namespace, invocation.FunctionName);
        return FailAsync(key, AsyncConfig(key, invocation.Version), invocation, DestinationRecord.EventAgeExceeded, invocation.Attempt - 1, null, cancellationToken);
    }

    /// <summary>Lease length for the invocations of a version ($LATEST when null): its timeout plus the configured margin.</summary>
    public TimeSpan AckWait(FunctionKey key, string? version = null) =>
        TimeSpan.FromSeconds(functions.TryGetVersionSpec(key, version, out var spec) ? spec.TimeoutSeconds : 900) + options.TimeoutMargin;

    private AsyncSpec AsyncConfig(FunctionKey key, string? version) =>
        functions.TryGetVersionSpec(key, version, out var spec) && spec.Async is { } config ? config : new AsyncSpec();

    private async Task FailAsync(FunctionKey key, AsyncSpec config, Invocation invocation, string condition, int invokeCount,
        InvocationResult? result, CancellationToken cancellationToken)
    {
        metrics.GaveUp(key, condition);
        var target = config.Destinations?.OnFailure ?? new Destination { Queue = DestinationQueues.DeadLetterQueueName(key) };
        LogGaveUp(logger, key.Namespace, key.Name, invocation.RequestId, condition, invokeCount,
            string.IsNullOrEmpty(target.Function) ? $"queue {target.Queue}" : $"function {target.Function}");
        await DeliverAsync(key, target, invocation, condition, invokeCount, result, cancellationToken).ConfigureAwait(false);
    }

    private async Task DeliverAsync(FunctionKey key, Destination destination, Invocation invocation, string condition, int invokeCount,
        InvocationResult? result, CancellationToken cancellationToken)
    {
        var record = DestinationRecord.Build(invocation, functions.ArnOf(key), condition, invokeCount, result, time.GetUtcNow());
        if (!string.IsNullOrEmpty(destination.Function))
        {
            var bare = !destination.Function.Contains('/', StringComparison.Ordinal) && !destination.Function.StartsWith("arn:", StringComparison.Ordinal);
            if ((bare && functions.TryResolve($"{key.Namespace}/{destination.Function}", null, out var target))
                || functions.TryResolve(destination.Function, null, out target))
            {
                var next = new Invocation
                {
                    // Derived, not random: a follow-up sent twice (a result posted twice, a crash before the ack) is one
                    // message to a queue that de-duplicates by request id and attempt (JetStream's duplicate window).
                    RequestId = DerivedRequestId(invocation, condition),
                    Namespace = target.Key.Namespace,
                    FunctionName = target.Key.Name,
                    Version = target.Version,
                    InvokedFunctionArn = target.InvokedFunctionArn,
                    Type = InvocationType.Event,
                    Payload = record,
                    AcceptedAt = time.GetUtcNow(),
                };
                await queue.EnqueueAsync(next, new EnqueueOptions(AckWait(target.Key, target.Version)), cancellationToken).ConfigureAwait(false);
                metrics.Accepted(target.Key, InvocationType.Event);
                return;
            }

            LogDestinationMissing(logger, key.Namespace, key.Name, destination.Function, DestinationQueues.DeadLetterQueueName(key));
            await destinations.PublishAsync(DestinationQueues.DeadLetterQueueName(key), RecordId(invocation, condition), record, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Awaited (on JetStream: acknowledged) before the caller completes the source invocation; the id makes a
        // completion posted twice, or redelivered after a crash, one record.
        await destinations.PublishAsync(destination.Queue ?? DestinationQueues.DeadLetterQueueName(key), RecordId(invocation, condition), record, cancellationToken)
            .ConfigureAwait(false);
    }

    private static string RecordId(Invocation source, string condition) => "rec:" + DerivedRequestId(source, condition);

    private static string DerivedRequestId(Invocation source, string condition)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{source.RequestId}/{source.Attempt}/{condition}"));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled async retry namespace={Namespace} function={Function} requestId={RequestId} attempt={Attempt} delay={Delay}")]
    private static partial void LogRetryScheduled(ILogger logger, string @namespace, string function, string requestId, int attempt, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gave up async invocation namespace={Namespace} function={Function} requestId={RequestId} condition={Condition} attempts={Attempts}; record sent to {Destination}")]
    private static partial void LogGaveUp(ILogger logger, string @namespace, string function, string requestId, string condition, int attempts, string destination);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Destination function not found namespace={Namespace} function={Function} destination={Destination}; record sent to queue={Queue}")]
    private static partial void LogDestinationMissing(ILogger logger, string @namespace, string function, string destination, string queue);
}
