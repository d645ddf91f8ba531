namespace FnOperator.Contracts;

/// <summary>
/// The one exponential backoff of the project: <c>initial × 2^(attempt-1)</c>, capped at <c>max</c>, optionally with
/// jitter so that many clients failing together do not retry together. Used by the informer's watch restarts, the work
/// queue's per-item retries, leader workers, pollers, the runtime-shim's restart pacing and pull retries, local mode's
/// crash backoff and the gateway's async retries: write no other doubling loop.
/// </summary>
public static class Backoff
{
    /// <summary>The delay before retry number <paramref name="attempt"/> (1 = first retry), without jitter.</summary>
    public static TimeSpan Exponential(int attempt, TimeSpan initial, TimeSpan max)
    {
        if (attempt <= 0 || initial <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var exponent = Math.Min(attempt - 1, 62); // 2^62 × any positive delay is past every cap
        var ms = initial.TotalMilliseconds * Math.Pow(2, exponent);
        return ms >= max.TotalMilliseconds ? max : TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>
    /// <see cref="Exponential"/> scaled by a random factor in [1 - <paramref name="jitter"/>, 1): with the default 0.5,
    /// between half and all of the exponential delay ("equal jitter").
    /// </summary>
    public static TimeSpan Jittered(int attempt, TimeSpan initial, TimeSpan max, double jitter = 0.5, Random? random = null)
    {
        var delay = Exponential(attempt, initial, max);
        var share = Math.Clamp(jitter, 0, 1);
        return delay * (1 - (share * (random ?? Random.Shared).NextDouble()));
    }
}
