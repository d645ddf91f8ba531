namespace FnOperator.Contracts.Scaling;

/// <summary>
/// One function version's idle times (from the end of one busy period to the start of the next) in fixed-width bins
/// over a bounded range, as in the hybrid histogram policy of Shahrad et al., "Serverless in the Wild" (USENIX ATC
/// 2020); idle times past the range are counted as out of bounds. Memory is fixed: <c>bins</c> counters.
/// Not thread-safe (each owner updates its own from one loop).
/// </summary>
public sealed class IdleTimeHistogram
{
    private readonly int[] counts;

    public IdleTimeHistogram(TimeSpan binWidth, int bins)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(binWidth, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        BinWidth = binWidth;
        counts = new int[bins];
    }

    public TimeSpan BinWidth { get; }

    /// <summary>Idle times at or beyond this are out of bounds.</summary>
    public TimeSpan Range => BinWidth * counts.Length;

    /// <summary>Idle times recorded within the range.</summary>
    public int Count { get; private set; }

    /// <summary>Idle times recorded at or beyond <see cref="Range"/>.</summary>
    public int OutOfBounds { get; private set; }

    public void Record(TimeSpan idle)
    {
        if (idle < TimeSpan.Zero)
        {
            idle = TimeSpan.Zero;
        }

        if (idle >= Range)
        {
            OutOfBounds = OutOfBounds == int.MaxValue ? OutOfBounds : OutOfBounds + 1;
            return;
        }

        var bin = (int)(idle.Ticks / BinWidth.Ticks);
        if (counts[bin] == int.MaxValue)
        {
            return;
        }

        counts[bin]++;
        Count++;
    }

    /// <summary>
    /// Lower edge of the bin holding the <paramref name="quantile"/> of the in-range idle times (the head: when the
    /// next call can come at the earliest). Zero when empty.
    /// </summary>
    public TimeSpan Lower(double quantile) => BinWidth * BinAt(quantile);

    /// <summary>Upper edge of the bin holding the <paramref name="quantile"/> (the tail: how long to stay warm).</summary>
    public TimeSpan Upper(double quantile) => Count == 0 ? TimeSpan.Zero : BinWidth * (BinAt(quantile) + 1);

    /// <summary>Coefficient of variation of the bin counts (std / mean); a single peak gives a high value, a flat spread a low one.</summary>
    public double BinCountCv()
    {
        if (Count == 0)
        {
            return 0;
        }

        var mean = (double)Count / counts.Length;
        var variance = counts.Sum(c => (c - mean) * (c - mean)) / counts.Length;
        return Math.Sqrt(variance) / mean;
    }

    private int BinAt(double quantile)
    {
        if (Count == 0)
        {
            return 0;
        }

        var target = Math.Max(1, (long)Math.Ceiling(Math.Clamp(quantile, 0, 1) * Count));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= target)
            {
                return i;
            }
        }

        return counts.Length - 1;
    }
}
