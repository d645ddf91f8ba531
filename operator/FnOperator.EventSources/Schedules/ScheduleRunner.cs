using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using FnOperator.Contracts;

namespace FnOperator.EventSources.Schedules;

/// <summary>Where a mapping records the last tick it fired (kept outside the poller, so it survives failover).</summary>
public interface ITickStore
{
    Task<DateTimeOffset?> LoadAsync(CancellationToken cancellationToken);

    Task SaveAsync(DateTimeOffset tick, CancellationToken cancellationToken);
}

/// <summary>What a schedule invokes: the function, the fixed input (or null for the Scheduled Event), names for the event.</summary>
public sealed record ScheduleTarget(string FunctionName, string? Qualifier, JsonNode? Input, string Namespace, string RuleName, int MaximumRetryAttempts, string? FailureFunction);

/// <summary>
/// Fires a schedule's ticks. Each tick is recorded in the <see cref="ITickStore"/> <b>before</b> the invocation, so a
/// tick fires at most once across a leader failover (a leader lost between the record and the invoke loses that one
/// tick). A new leader fires the latest tick it missed while no leader ran once, late; older missed ticks are skipped.
/// A new mapping starts with the first tick after it starts. Failed invocations are retried maximumRetryAttempts times
/// (-1: 2) with backoff, then the event goes to the failure function (asynchronously), as EventBridge Scheduler's DLQ.
/// </summary>
public sealed class ScheduleRunner(Schedule schedule, ScheduleTarget target, ITickStore store, IFunctionInvoker invoker, IPollerObserver observer, TimeProvider time)
{
    public const int DefaultRetries = 2;
    private const int MaxMissedScan = 100_000;
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromMinutes(1);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var last = await store.LoadAsync(cancellationToken).ConfigureAwait(false);
        if (last is { } l && LatestMissed(l, now) is { } missed)
        {
            await FireAsync(missed, cancellationToken).ConfigureAwait(false);
        }

        var cursor = last is { } seen && seen > now ? seen : now;
        while (!cancellationToken.IsCancellationRequested && schedule.Next(cursor) is { } next)
        {
            var wait = next - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
            }

            await FireAsync(next, cancellationToken).ConfigureAwait(false);
            cursor = next;
        }
    }

    public static byte[] ScheduledEvent(ScheduleTarget target, DateTimeOffset tick)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("version", "0");
            w.WriteString("id", Guid.NewGuid().ToString());
            w.WriteString("detail-type", "Scheduled Event");
            w.WriteString("source", "aws.events");
            w.WriteString("account", target.Namespace);
            w.WriteString("time", tick.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("region", EventShapes.Region);
            w.WriteStartArray("resources");
            w.WriteStringValue($"arn:fnoperator:events:{EventShapes.Region}:{target.Namespace}:rule/{target.RuleName}");
            w.WriteEndArray();
            w.WriteStartObject("detail");
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private DateTimeOffset? LatestMissed(DateTimeOffset last, DateTimeOffset now)
    {
        DateTimeOffset? missed = null;
        var cursor = last;
        for (var i = 0; i < MaxMissedScan && schedule.Next(cursor) is { } next && next <= now; i++)
        {
            missed = cursor = next;
        }

        return missed;
    }

    private async Task FireAsync(DateTimeOffset tick, CancellationToken cancellationToken)
    {
        await store.SaveAsync(tick, cancellationToken).ConfigureAwait(false);
        var payload = target.Input is { } input ? JsonSerializer.SerializeToUtf8Bytes(input) : ScheduledEvent(target, tick);
        var retries = target.MaximumRetryAttempts < 0 ? DefaultRetries : target.MaximumRetryAttempts;
        for (var attempt = 0; ; attempt++)
        {
            var outcome = await invoker.InvokeAsync(target.FunctionName, target.Qualifier, payload, asynchronous: false, cancellationToken).ConfigureAwait(false);
            if (outcome.Succeeded)
            {
                observer.Processed("OK", 1, time.GetUtcNow());
                return;
            }

            if (attempt >= retries)
            {
                observer.Processed($"PROBLEM: {outcome.FunctionError ?? outcome.ErrorType ?? outcome.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)}", 1, time.GetUtcNow());
                if (target.FailureFunction is { } failure)
                {
                    await invoker.InvokeAsync(failure.Contains('/', StringComparison.Ordinal) ? failure : $"{target.Namespace}/{failure}", null, payload, asynchronous: true, cancellationToken).ConfigureAwait(false);
                }

                observer.Discarded(1, StreamDecisions.RetryAttemptsExhausted);
                return;
            }

            await Task.Delay(Backoff.Exponential(attempt + 1, FirstRetry, MaxRetry), time, cancellationToken).ConfigureAwait(false);
        }
    }
}
