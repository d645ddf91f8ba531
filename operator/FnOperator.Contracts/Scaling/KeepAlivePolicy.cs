namespace FnOperator.Contracts.Scaling;

/// <summary>How long idle instances are kept (scaling.keepAlive).</summary>
public enum KeepAliveMode
{
    /// <summary>Warm for the fixed idle window (scaleToZeroAfterSeconds), then shed.</summary>
    Fixed,

    /// <summary>The hybrid histogram policy: learned from the version's idle times, fixed until they are representative.</summary>
    Adaptive,
}

/// <summary>
/// When an idle version wants an instance, measured from the end of its last busy period: none before
/// <see cref="PreWarm"/> (zero: from the start), one until <see cref="KeepAlive"/>, none after.
/// </summary>
/// <param name="Adaptive">False when this is the fixed window (the histogram was not representative, or fixed was chosen).</param>
public readonly record struct KeepAliveWindow(TimeSpan PreWarm, TimeSpan KeepAlive, bool Adaptive);

/// <summary>Settings of the hybrid histogram policy (the paper's values, with seconds-scale bins for this system).</summary>
/// <param name="BinWidth">Histogram bin width (the paper: 1 minute; here 5 s, as the fixed windows are minutes).</param>
/// <param name="Bins">Bins; the range is BinWidth × Bins (here 1 h; the paper: 4 h).</param>
/// <param name="MinSamples">Idle times needed before the histogram is trusted.</param>
/// <param name="CvThreshold">Bin-count coefficient of variation above which the histogram is representative (the paper: 2).</param>
/// <param name="MaxOutOfBoundsShare">Above this share of idle times past the range the histogram is not used (the paper switches to ARIMA; here: fixed).</param>
/// <param name="HeadQuantile">Pre-warm at this quantile of the idle times (the paper: 5th percentile).</param>
/// <param name="TailQuantile">Keep warm until this quantile (the paper: 99th percentile).</param>
/// <param name="Margin">The pre-warm window shrinks and the keep-alive window grows by this share (the paper: 10 %).</param>
/// <param name="MinPreWarm">A pre-warm window shorter than this is not worth unloading for: the instance stays warm from the start.</param>
public sealed record KeepAliveOptions(
    TimeSpan BinWidth,
    int Bins = 720,
    int MinSamples = 10,
    double CvThreshold = 2,
    double MaxOutOfBoundsShare = 0.5,
    double HeadQuantile = 0.05,
    double TailQuantile = 0.99,
    double Margin = 0.1,
    TimeSpan MinPreWarm = default)
{
    public static readonly KeepAliveOptions Default = new(TimeSpan.FromSeconds(5), MinPreWarm: TimeSpan.FromSeconds(30));
}

/// <summary>
/// The adaptive keep-alive (Shahrad et al., USENIX ATC 2020, "hybrid histogram policy"), pure: from a version's
/// idle-time histogram, keep an instance warm until the tail of its idle times and, when the next call cannot come
/// early, shed at once and pre-warm just before the head; fall back to the fixed window while the histogram is not
/// representative (too few idle times, a flat spread, or too many past its range).
/// </summary>
public static class KeepAlivePolicy
{
    public static KeepAliveWindow Window(IdleTimeHistogram? histogram, TimeSpan fixedWindow, KeepAliveOptions options)
    {
        if (histogram is null || !Representative(histogram, options))
        {
            return new KeepAliveWindow(TimeSpan.Zero, fixedWindow, Adaptive: false);
        }

        var head = histogram.Lower(options.HeadQuantile) * (1 - options.Margin);
        var tail = histogram.Upper(options.TailQuantile) * (1 + options.Margin);
        var preWarm = head < options.MinPreWarm ? TimeSpan.Zero : head;
        return new KeepAliveWindow(preWarm, tail < preWarm + histogram.BinWidth ? preWarm + histogram.BinWidth : tail, Adaptive: true);
    }

    public static bool Representative(IdleTimeHistogram histogram, KeepAliveOptions options)
    {
        var total = histogram.Count + histogram.OutOfBounds;
        return histogram.Count >= options.MinSamples
            && histogram.OutOfBounds <= options.MaxOutOfBoundsShare * total
            && histogram.BinCountCv() >= options.CvThreshold;
    }

    /// <summary>
    /// The limits <see cref="ScalingPolicy.Decide"/> uses for a version idle for <paramref name="idleFor"/>: before
    /// the pre-warm point nothing is kept (idle window zero); from it until the keep-alive point at least one instance
    /// (the pre-warm), after it the floor. Scale to zero switched off (or a ceiling of zero) keeps the limits as they are.
    /// </summary>
    public static ScalingLimits Apply(ScalingLimits limits, KeepAliveWindow window, TimeSpan idleFor)
    {
        if (!window.Adaptive || !limits.ScaleToZero || limits.MaxInstances <= 0)
        {
            return window.Adaptive ? limits : limits with { IdleWindow = window.KeepAlive };
        }

        if (idleFor < window.PreWarm)
        {
            return limits with { IdleWindow = TimeSpan.Zero };
        }

        return idleFor < window.KeepAlive
            ? limits with { MinInstances = Math.Max(limits.MinInstances, 1), IdleWindow = window.KeepAlive }
            : limits with { IdleWindow = window.KeepAlive };
    }
}

/// <summary>
/// One version's keep-alive state, for an autoscaler loop (cluster or local mode): observes busy/idle each pass,
/// records each idle time into the histogram (adaptive only; allocated on first use) and adjusts the limits.
/// </summary>
public sealed class KeepAliveTracker(KeepAliveMode mode, KeepAliveOptions? options = null)
{
    private readonly KeepAliveOptions options = options ?? KeepAliveOptions.Default;
    private bool wasBusy = true;

    public KeepAliveMode Mode { get; } = mode;

    public IdleTimeHistogram? Histogram { get; private set; }

    /// <summary>Call once per pass before marking the version busy: <paramref name="idleFor"/> is the time since it was last busy.</summary>
    public void Observe(bool busy, TimeSpan idleFor)
    {
        if (Mode == KeepAliveMode.Adaptive && busy && !wasBusy)
        {
            (Histogram ??= new IdleTimeHistogram(options.BinWidth, options.Bins)).Record(idleFor);
        }

        wasBusy = busy;
    }

    public KeepAliveWindow Window(TimeSpan fixedWindow) =>
        Mode == KeepAliveMode.Adaptive ? KeepAlivePolicy.Window(Histogram, fixedWindow, options) : new KeepAliveWindow(TimeSpan.Zero, fixedWindow, false);

    /// <summary>The limits for this pass (<see cref="KeepAlivePolicy.Apply"/>); fixed mode returns them unchanged.</summary>
    public ScalingLimits Apply(ScalingLimits limits, TimeSpan idleFor) =>
        Mode == KeepAliveMode.Fixed ? limits : KeepAlivePolicy.Apply(limits, Window(limits.IdleWindow), idleFor);
}
