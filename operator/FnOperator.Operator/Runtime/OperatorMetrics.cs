using Prometheus;

namespace FnOperator.Operator.Runtime;

/// <summary>The operator's Prometheus metrics, registered in one registry (the default one in the executable).</summary>
public sealed class OperatorMetrics : IInformerMetrics
{
    private readonly Counter reconciles;
    private readonly Counter errors;
    private readonly Histogram duration;
    private readonly Gauge depth;
    private readonly Counter watchRestarts;
    private readonly Gauge leader;

    public OperatorMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        reconciles = factory.CreateCounter(
            "fnoperator_reconcile_total", "Reconciles by kind and result (done, requeue, conflict, error, terminal).", "kind", "result");
        errors = factory.CreateCounter(
            "fnoperator_reconcile_errors_total", "Reconciles that failed and were retried with backoff.", "kind");
        duration = factory.CreateHistogram(
            "fnoperator_reconcile_duration_seconds", "Time one reconcile took.", new HistogramConfiguration
            {
                LabelNames = ["kind"],
                Buckets = Histogram.ExponentialBuckets(0.001, 2, 16),
            });
        depth = factory.CreateGauge("fnoperator_workqueue_depth", "Keys waiting in the work queue.", "kind");
        watchRestarts = factory.CreateCounter(
            "fnoperator_watch_restarts_total", "Watches started again, by kind and reason (closed, expired, error).", "kind", "reason");
        leader = factory.CreateGauge("fnoperator_leader", "1 while this replica holds the leader Lease.");
    }

    public CollectorRegistry Registry { get; }

    public void Reconciled(string kind, string result, TimeSpan elapsed)
    {
        reconciles.WithLabels(kind, result).Inc();
        duration.WithLabels(kind).Observe(elapsed.TotalSeconds);
        if (result == "error")
        {
            errors.WithLabels(kind).Inc();
        }
    }

    public double ReconcileCount(string kind, string result) => reconciles.WithLabels(kind, result).Value;

    public void QueueDepth(string kind, int value) => depth.WithLabels(kind).Set(value);

    public void WatchRestarted(string kind, string reason) => watchRestarts.WithLabels(kind, reason).Inc();

    public double WatchRestarts(string kind, string reason) => watchRestarts.WithLabels(kind, reason).Value;

    public void Leading(bool value) => leader.Set(value ? 1 : 0);
}
