using FnOperator.Operator.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Autoscaling;

public static class AutoscalerRegistration
{
    /// <summary>
    /// The leader-only cluster autoscaler: inputs from the gateway's stats endpoint (Operator:GatewayUrl, credential from
    /// the operator's cluster key, Operator:ClusterKeyFile), actuation through Deployment /scale. Tests replace the source or actuator by
    /// registering theirs first.
    /// </summary>
    public static IServiceCollection AddAutoscaler(this IServiceCollection services)
    {
        services.TryAddSingleton(new AutoscalerOptions());
        services.TryAddSingleton<IScalingInputSource>(sp => new GatewayStatsSource(
            new HttpClient { Timeout = TimeSpan.FromSeconds(5) },
            new Uri(sp.GetRequiredService<IOptions<OperatorOptions>>().Value.GatewayUrl),
            sp.GetRequiredService<ClusterKey>().Bytes.ToArray()));
        services.TryAddSingleton<IWorkEventSource>(sp => new GatewayWorkEventsSource(
            new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, // a stream held open; reconnects are the autoscaler's
            new Uri(sp.GetRequiredService<IOptions<OperatorOptions>>().Value.GatewayUrl),
            sp.GetRequiredService<ClusterKey>().Bytes.ToArray()));
        services.TryAddSingleton<IScaleActuator, DeploymentScaler>();
        services.AddLeaderService<ClusterAutoscaler>();
        return services;
    }
}
