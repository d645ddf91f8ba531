using FnOperator.Gateway.Metrics;
using Prometheus;

namespace FnOperator.Gateway.Auth;

/// <summary>Invoke auth decisions, in the gateway's registry: <c>fnoperator_gateway_auth_requests_total{method,result,error_type}</c>.</summary>
public sealed class AuthMetrics(GatewayMetrics gateway)
{
    private readonly Counter requests = Prometheus.Metrics.WithCustomRegistry(gateway.Registry).CreateCounter(
        "fnoperator_gateway_auth_requests_total",
        "Requests checked by invoke auth, by credential method (sigv4, bearer, anonymous, none), result (allowed, denied) and AWS error type.",
        ["method", "result", "error_type"]);

    public void Allowed(string method) => requests.WithLabels(method, "allowed", "").Inc();

    public void Denied(string method, string errorType) => requests.WithLabels(method, "denied", errorType).Inc();
}
