using FnOperator.Kubernetes;
using Prometheus;

namespace FnOperator.Gateway.Cluster;

/// <summary>Serve mode's informers' watch restarts in the gateway's registry, named as the operator names them.</summary>
internal sealed class WatchMetrics(CollectorRegistry registry) : IInformerMetrics
{
    private readonly Counter restarts = Prometheus.Metrics.WithCustomRegistry(registry).CreateCounter(
        "fnoperator_watch_restarts_total", "Watches started again, by kind and reason (closed, expired, error).", "kind", "reason");

    public void WatchRestarted(string kind, string reason) => restarts.WithLabels(kind, reason).Inc();
}
