using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.EventSources;

/// <summary>When a batch being gathered is sent: at batchSize records, when the window has passed, or before the 6 MB payload limit.</summary>
public static class Batching
{
    /// <summary>True when the batch goes now; otherwise the poller waits at most <paramref name="window"/> − <paramref name="elapsed"/> for more.</summary>
    public static bool ShouldFlush(int count, int batchSize, TimeSpan elapsed, TimeSpan window) =>
        count >= batchSize || (count > 0 && elapsed >= window);

    /// <summary>Whether a record of <paramref name="recordBytes"/> still fits a batch of <paramref name="batchBytes"/> (a first record always does).</summary>
    public static bool Fits(long batchBytes, long recordBytes, int count) => count == 0 || batchBytes + recordBytes <= EventShapes.MaxPayloadBytes;
}

/// <summary>How a batch ended: every record succeeded, every record failed, or only <see cref="FailedIds"/> failed.</summary>
/// <param name="Throttled">Retried without counting as a function error (429/5xx, and <paramref name="Denied"/>).</param>
/// <param name="Denied">The gateway refused the poller's credentials (401/403): retried in place until allowed, never a redelivery.</param>
public sealed record BatchResult(bool AllFailed, IReadOnlySet<string> FailedIds, bool Throttled = false, string? Error = null, bool Denied = false)
{
    public static BatchResult Success { get; } = new(false, new HashSet<string>());

    public bool Succeeded => !AllFailed && FailedIds.Count == 0;

    public static BatchResult Failed(string error, bool throttled = false) => new(true, new HashSet<string>(), throttled, error);

    /// <summary>
    /// Lambda's rules: a function error or a failed invoke fails the whole batch. Without ReportBatchItemFailures a
    /// normal return succeeds it. With it: an empty/null response or <c>batchItemFailures</c> is success; invalid JSON,
    /// an empty/null/non-string <c>itemIdentifier</c> or an id not in the batch fails the whole batch; otherwise only the
    /// listed items failed.
    /// </summary>
    public static BatchResult From(InvokeOutcome outcome, IReadOnlyList<SourceRecord> batch, bool reportBatchItemFailures)
    {
        if (outcome.Denied)
        {
            return Failed($"invoke denied ({outcome.StatusCode} {outcome.ErrorType}: {outcome.ErrorMessage})", throttled: true) with { Denied = true };
        }

        if (outcome.Throttled)
        {
            return Failed($"invoke refused ({outcome.StatusCode} {outcome.ErrorType})", throttled: true);
        }

        if (!outcome.Succeeded)
        {
            return Failed(outcome.FunctionError is null ? $"invoke failed ({outcome.StatusCode} {outcome.ErrorType})" : $"function error ({outcome.FunctionError})");
        }

        if (!reportBatchItemFailures || outcome.Payload.Length == 0)
        {
            return Success;
        }

        try
        {
            using var doc = JsonDocument.Parse(outcome.Payload);
            if (doc.RootElement.ValueKind == JsonValueKind.Null || doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("batchItemFailures", out var failures) || failures.ValueKind == JsonValueKind.Null)
            {
                return doc.RootElement.ValueKind is JsonValueKind.Null or JsonValueKind.Object ? Success : Failed("invalid batchItemFailures response");
            }

            if (failures.ValueKind != JsonValueKind.Array)
            {
                return Failed("invalid batchItemFailures response");
            }

            var ids = batch.Select(r => r.Id).ToHashSet();
            var failed = new HashSet<string>();
            foreach (var item in failures.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("itemIdentifier", out var id) || id.ValueKind != JsonValueKind.String
                    || string.IsNullOrEmpty(id.GetString()) || !ids.Contains(id.GetString()!))
                {
                    return Failed("invalid itemIdentifier in batchItemFailures");
                }

                failed.Add(id.GetString()!);
            }

            return new BatchResult(false, failed);
        }
        catch (JsonException)
        {
            return Failed("response is not JSON");
        }
    }
}

/// <summary>A part of a stream batch being retried and how many counted retries it had.</summary>
public sealed record Segment(IReadOnlyList<SourceRecord> Records, int Attempts = 0);

/// <summary>What the stream poller does next with a segment.</summary>
public abstract record StreamStep
{
    private StreamStep()
    {
    }

    /// <summary>The segment is processed; checkpoint past it.</summary>
    public sealed record Done : StreamStep;

    /// <summary>The first <paramref name="Succeeded"/> records are processed; <paramref name="Rest"/> is retried.</summary>
    public sealed record Continue(int Succeeded, Segment Rest) : StreamStep;

    /// <summary>Process <paramref name="First"/> then <paramref name="Second"/> (bisect; splitting does not count as a retry).</summary>
    public sealed record Split(Segment First, Segment Second) : StreamStep;

    /// <summary>Give up: the segment goes to the on-failure destination with Lambda's <paramref name="Condition"/>.</summary>
    public sealed record Discard(Segment Segment, string Condition) : StreamStep;
}

/// <summary>Lambda's stream error handling: bisect, maximumRetryAttempts (-1 = until expiry), checkpoint at the lowest reported failure.</summary>
public static class StreamDecisions
{
    public const string RetryAttemptsExhausted = "RetryAttemptsExhausted";
    public const string RecordAgeExceeded = "RecordAgeExceeded";

    public static StreamStep Decide(Segment segment, BatchResult result, bool bisect, int maximumRetryAttempts)
    {
        if (result.Succeeded)
        {
            return new StreamStep.Done();
        }

        var records = segment.Records;
        var firstFailed = result.AllFailed ? 0 : IndexOfFirst(records, result.FailedIds);
        if (result.Throttled)
        {
            return new StreamStep.Continue(0, segment); // throttles and service errors do not count as retries
        }

        var rest = firstFailed == 0 ? records : [.. records.Skip(firstFailed)];
        if (bisect && rest.Count > 1)
        {
            var half = rest.Count / 2;
            var split = new StreamStep.Split(new Segment([.. rest.Take(half)]), new Segment([.. rest.Skip(half)]));
            return firstFailed == 0 ? split : new StreamStep.Continue(firstFailed, new Segment(rest));
        }

        var attempts = segment.Attempts + 1;
        if (maximumRetryAttempts >= 0 && attempts > maximumRetryAttempts)
        {
            return new StreamStep.Discard(new Segment(rest, attempts), RetryAttemptsExhausted);
        }

        return new StreamStep.Continue(firstFailed, new Segment(rest, attempts));
    }

    /// <summary>How many leading records are older than <paramref name="maximumRecordAgeInSeconds"/> (-1: none ever expire).</summary>
    public static int Expired(IReadOnlyList<SourceRecord> records, int maximumRecordAgeInSeconds, DateTimeOffset now)
    {
        if (maximumRecordAgeInSeconds < 0)
        {
            return 0;
        }

        var n = 0;
        while (n < records.Count && now - records[n].Timestamp > TimeSpan.FromSeconds(maximumRecordAgeInSeconds))
        {
            n++;
        }

        return n;
    }

    private static int IndexOfFirst(IReadOnlyList<SourceRecord> records, IReadOnlySet<string> ids)
    {
        for (var i = 0; i < records.Count; i++)
        {
            if (ids.Contains(records[i].Id))
            {
                return i;
            }
        }

        return 0;
    }
}
