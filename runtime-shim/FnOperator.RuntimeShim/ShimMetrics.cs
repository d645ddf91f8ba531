using Prometheus;

namespace FnOperator.RuntimeShim;

/// <summary>The shim's Prometheus metrics (served on FNOP_HTTP_ADDRESS /metrics).</summary>
public static class ShimMetrics
{
    public static readonly Counter Invocations = Metrics.CreateCounter(
        "fnop_shim_invocations_total", "Invocations run by this shim, by outcome (Success, FunctionError).", "outcome");

    public static readonly Counter Errors = Metrics.CreateCounter(
        "fnop_shim_errors_total", "Failed invocations by Lambda error type.", "error_type");

    public static readonly Counter Timeouts = Metrics.CreateCounter(
        "fnop_shim_timeouts_total", "Invocations that exceeded the function timeout (Sandbox.Timedout).");

    public static readonly Counter ColdStarts = Metrics.CreateCounter(
        "fnop_shim_cold_starts_total", "Invocations that ran on a freshly initialised runtime.");

    public static readonly Counter RuntimeRestarts = Metrics.CreateCounter(
        "fnop_shim_runtime_restarts_total", "Times the runtime was killed and started again (timeout, crash).");

    public static readonly Histogram Duration = Metrics.CreateHistogram(
        "fnop_shim_invocation_duration_seconds", "Invocation duration as reported in REPORT.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 20) });

    public static readonly Histogram InitDuration = Metrics.CreateHistogram(
        "fnop_shim_init_duration_seconds", "Runtime initialisation duration (start until its first GET next).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.01, 2, 14) });
}
