using System.Collections.Concurrent;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;
using Prometheus;

namespace FnOperator.Gateway.Metrics;

/// <summary>
/// The gateway's Prometheus metrics, in a registry of its own (several gateways can live in one test process).
/// Queue depth, in-flight and waiting gauges are read from the queue at scrape time.
/// </summary>
public sealed class GatewayMetrics
{
    private static readonly string[] FunctionLabels = ["namespace", "function"];

    private readonly Counter _invocations;
    private readonly Counter _errors;
    private readonly Counter _throttles;
    private readonly Counter _coldStarts;
    private readonly Counter _asyncRetries;
    private readonly Counter _deadLetters;
    private readonly Counter _rejected;
    private readonly Histogram _duration;
    private readonly Histogram _initDuration;
    private readonly Counter _versionColdStarts;
    private readonly Histogram _coldStartWait;

    // The labelled children the invoke path updates on every invocation, per function, created on first use (so /metrics
    // shows the same series as before): a label lookup in prometheus-net allocates the label values and hashes them.
    // Bounded by the functions the gateway has served, as prometheus-net's own children are.
    private readonly ConcurrentDictionary<FunctionKey, FunctionSeries> _series = new();

    private sealed class FunctionSeries
    {
        public readonly Counter.Child?[] Accepted = new Counter.Child?[Enum.GetValues<InvocationType>().Length];
        public Histogram.Child? Duration;
        public Counter.Child? ColdStarts;
        public Histogram.Child? InitDuration;
    }

    public GatewayMetrics(FunctionRegistry functions, IInvocationQueue queue)
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _invocations = factory.CreateCounter("fnop_gateway_invocations_total", "Invocations accepted, by invocation type.", [.. FunctionLabels, "type"]);
        _errors = factory.CreateCounter("fnop_gateway_function_errors_total", "Invocation attempts that ended in a function error, by error type.", [.. FunctionLabels, "error_type"]);
        _throttles = factory.CreateCounter("fnop_gateway_throttles_total", "Requests answered 429, by reason.", [.. FunctionLabels, "reason"]);
        _rejected = factory.CreateCounter("fnop_gateway_rejected_requests_total", "Requests rejected before queueing (404, 400, 413), by error type.", ["error_type"]);
        _coldStarts = factory.CreateCounter("fnop_gateway_cold_starts_total", "Invocation attempts that paid a cold start.", FunctionLabels);
        _asyncRetries = factory.CreateCounter("fnop_gateway_async_retries_total", "Asynchronous invocation retries scheduled.", FunctionLabels);
        _deadLetters = factory.CreateCounter("fnop_gateway_async_failures_total", "Asynchronous invocations given up, by condition.", [.. FunctionLabels, "condition"]);
        _duration = factory.CreateHistogram("fnop_gateway_invocation_duration_seconds", "Function duration reported by the runtime-shim.",
            new HistogramConfiguration { LabelNames = FunctionLabels, Buckets = Histogram.ExponentialBuckets(0.001, 2, 18) });
        _initDuration = factory.CreateHistogram("fnop_gateway_init_duration_seconds", "Cold start (init) duration reported by the runtime-shim.",
            new HistogramConfiguration { LabelNames = FunctionLabels, Buckets = Histogram.ExponentialBuckets(0.01, 2, 14) });
        _versionColdStarts = factory.CreateCounter("fnop_gateway_cold_start_invocations_total", "Invocations enqueued while their version had no instance (they waited for a cold start), per version.", [.. FunctionLabels, "version"]);
        _coldStartWait = factory.CreateHistogram("fnop_gateway_cold_start_wait_seconds", "Cold start as the caller sees it: enqueued at zero instances → invocation started, per version.",
            new HistogramConfiguration { LabelNames = [.. FunctionLabels, "version"], Buckets = Histogram.ExponentialBuckets(0.025, 2, 15) });
        var depth = factory.CreateGauge("fnop_gateway_queue_depth", "Invocations queued (including delayed retries).", FunctionLabels);
        var inFlight = factory.CreateGauge("fnop_gateway_in_flight", "Invocations leased to workers.", FunctionLabels);
        var waiting = factory.CreateGauge("fnop_gateway_waiting_sync", "Synchronous requests waiting for a worker to start them.", FunctionLabels);
        Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var (key, _) in functions.All)
            {
                var stats = queue.GetStats(key);
                depth.WithLabels(key.Namespace, key.Name).Set(stats.Depth);
                inFlight.WithLabels(key.Namespace, key.Name).Set(stats.InFlight);
                waiting.WithLabels(key.Namespace, key.Name).Set(stats.WaitingSync);
            }
        });
    }

    public CollectorRegistry Registry { get; }

    public void Accepted(FunctionKey key, InvocationType type)
    {
        var series = Series(key);
        var index = (int)type;
        if ((uint)index >= (uint)series.Accepted.Length)
        {
            _invocations.WithLabels(key.Namespace, key.Name, type.ToString()).Inc();
            return;
        }

        (series.Accepted[index] ??= _invocations.WithLabels(key.Namespace, key.Name, type.ToString())).Inc();
    }

    public void Throttled(FunctionKey key, string reason) => _throttles.WithLabels(key.Namespace, key.Name, reason).Inc();

    public void Rejected(string errorType) => _rejected.WithLabels(errorType).Inc();

    public void ColdStart(FunctionKey key, string version, TimeSpan waited)
    {
        _versionColdStarts.WithLabels(key.Namespace, key.Name, version).Inc();
        _coldStartWait.WithLabels(key.Namespace, key.Name, version).Observe(Math.Max(0, waited.TotalSeconds));
    }

    public void RetryScheduled(FunctionKey key) => _asyncRetries.WithLabels(key.Namespace, key.Name).Inc();

    public void GaveUp(FunctionKey key, string condition) => _deadLetters.WithLabels(key.Namespace, key.Name, condition).Inc();

    public void Completed(FunctionKey key, InvocationResult result)
    {
        var series = Series(key);
        (series.Duration ??= _duration.WithLabels(key.Namespace, key.Name)).Observe(Math.Max(0, result.DurationMs) / 1000);
        if (result.InitDurationMs is { } init)
        {
            (series.ColdStarts ??= _coldStarts.WithLabels(key.Namespace, key.Name)).Inc();
            (series.InitDuration ??= _initDuration.WithLabels(key.Namespace, key.Name)).Observe(Math.Max(0, init) / 1000);
        }

        if (result.Outcome == InvocationOutcome.FunctionError)
        {
            _errors.WithLabels(key.Namespace, key.Name, result.ErrorType ?? result.FunctionError ?? "Unknown").Inc();
        }
    }

    private FunctionSeries Series(FunctionKey key) =>
        _series.TryGetValue(key, out var series) ? series : _series.GetOrAdd(key, static _ => new FunctionSeries());

    public async Task WriteAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }
}
