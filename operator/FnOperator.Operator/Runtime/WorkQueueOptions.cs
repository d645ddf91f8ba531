namespace FnOperator.Operator.Runtime;

/// <summary>
/// Retry pacing of a <see cref="WorkQueue{T}"/>: per-item exponential backoff (base × 2^failures, capped) combined with
/// an overall token bucket, as client-go's default controller rate limiter.
/// </summary>
public sealed record WorkQueueOptions
{
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Sustained retries per second across all items.</summary>
    public double RetriesPerSecond { get; init; } = 10;

    /// <summary>Retries allowed in a burst before the bucket paces them.</summary>
    public int Burst { get; init; } = 100;
}
