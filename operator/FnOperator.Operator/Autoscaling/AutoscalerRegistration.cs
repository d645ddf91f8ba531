using FnOperator.Operator.Hosting;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Autoscaling;

public static class AutoscalerRegistration
{
    /// <summary>
    /// The leader-only cluster autoscaler: inputs from every gateway replica's stats endpoint and push stream (the
    /// replicas behind <c>Operator:Autoscaler:GatewayService</c> from its EndpointSlices, else the one address
    /// <c>Operator:GatewayUrl</c>; credential from the operator's cluster key, <c>Operator:ClusterKeyFile</c>), actuation
    /// through Deployment /scale. Tests replace the source or actuator by registering theirs first.
    /// </summary>
    public static IServiceCollection AddAutoscaler(this IServiceCollection services)
    {
        services.TryAddSingleton(new AutoscalerOptions());
        services.AddInformer(sp =>
        {
            var options = sp.GetRequiredService<AutoscalerOptions>();
            return new GatewayEndpointSliceListWatch(sp.GetRequiredService<IKubernetes>(), options.GatewayService, GatewayNamespace(sp, options));
        });
        services.TryAddSingleton<IGatewayReplicas>(sp =>
        {
            var options = sp.GetRequiredService<AutoscalerOptions>();
            var service = new Uri(sp.GetRequiredService<IOptions<OperatorOptions>>().Value.GatewayUrl);
            return string.IsNullOrEmpty(options.GatewayService)
                ? new SingleGatewayReplica(service)
                : new EndpointSliceGatewayReplicas(sp.GetRequiredService<FnOperator.Kubernetes.Informer<k8s.Models.V1EndpointSlice>>(), service, options);
        });
        services.TryAddSingleton<IScalingInputSource>(sp =>
        {
            var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var key = sp.GetRequiredService<ClusterKey>().Bytes.ToArray();
            return new GatewayReplicaStatsSource(
                sp.GetRequiredService<IGatewayReplicas>(), address => new GatewayStatsSource(http, address, key), sp.GetRequiredService<AutoscalerOptions>(),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<GatewayReplicaStatsSource>>());
        });
        services.TryAddSingleton<IWorkEventSource>(sp =>
        {
            var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan }; // streams held open; reconnects are per replica
            var key = sp.GetRequiredService<ClusterKey>().Bytes.ToArray();
            return new GatewayReplicaWorkEvents(
                sp.GetRequiredService<IGatewayReplicas>(), address => new GatewayWorkEventsSource(http, address, key), sp.GetRequiredService<AutoscalerOptions>(),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<GatewayReplicaWorkEvents>>());
        });
        services.TryAddSingleton<IScaleActuator, DeploymentScaler>();
        services.AddLeaderService<ClusterAutoscaler>();
        return services;
    }

    private static string GatewayNamespace(IServiceProvider sp, AutoscalerOptions options) =>
        string.IsNullOrEmpty(options.GatewayNamespace) ? sp.GetRequiredService<IOptions<OperatorOptions>>().Value.PodNamespace : options.GatewayNamespace;
}
