using FnOperator.Api;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace FnOperator.Operator.Hosting;

/// <summary>Builds the operator process: options, Kubernetes client, informers, controllers, leader election, HTTP endpoints.</summary>
public static class OperatorApp
{
    public const string DefaultUrl = "http://0.0.0.0:8080";

    public const string LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

    /// <param name="configure">Last-word service overrides (tests: the API test server's client, a private metrics registry).</param>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        var config = builder.Configuration;
        if (string.IsNullOrEmpty(config["urls"]) && string.IsNullOrEmpty(config["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // The pod's identity and namespace come from the downward API.
        if (!string.IsNullOrEmpty(config["POD_NAMESPACE"]) && string.IsNullOrEmpty(config["Operator:PodNamespace"]))
        {
            config["Operator:PodNamespace"] = config["POD_NAMESPACE"];
        }

        if (!string.IsNullOrEmpty(config["POD_NAME"]) && string.IsNullOrEmpty(config["Operator:PodName"]))
        {
            config["Operator:PodName"] = config["POD_NAME"];
        }

        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });

        var services = builder.Services;
        services.AddOptions<OperatorOptions>().Bind(config.GetSection(OperatorOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OperatorOptions>, OperatorOptionsValidator>();
        AddOperator(services);
        configure?.Invoke(services);

        var app = builder.Build();
        MapEndpoints(app);
        return app;
    }

    public static void AddOperator(IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IKubernetes>(_ => new Kubernetes(KubernetesConfig.Load())); // in-cluster, else $KUBECONFIG, else ~/.kube/config
        services.TryAddSingleton(_ => new OperatorMetrics(Metrics.DefaultRegistry));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<OperatorOptions>>().Value;
            return new Informer<Function>(
                Function.KindName,
                new CustomResourceListWatch<Function>(sp.GetRequiredService<IKubernetes>(), ApiGroup.Group, ApiGroup.Version, Function.Plural, options.WatchNamespace),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<OperatorMetrics>(),
                sp.GetRequiredService<ILogger<Informer<Function>>>())
            {
                // kubectl apply's copy of the whole object; Functions are only ever written through /status,
                // which ignores metadata, so the cache does not need it.
                DroppedAnnotations = [LastAppliedAnnotation],
            };
        });
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<OperatorOptions>>().Value;
            return new Informer<V1Deployment>(
                "Deployment",
                new DeploymentListWatch(sp.GetRequiredService<IKubernetes>(), Names.ManagedSelector, options.WatchNamespace),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<OperatorMetrics>(),
                sp.GetRequiredService<ILogger<Informer<V1Deployment>>>())
            {
                // A decoded Deployment is ~16 KB, its JSON ~5 KB; readers (the applier, the status mapping) take copies anyway.
                Compact = true,
            };
        });
        services.TryAddSingleton<CodeResolver>();
        services.TryAddSingleton<ILayerResolver, LayerResolver>();
        services.TryAddSingleton<DeploymentApplier>();
        services.TryAddSingleton<FunctionStatusWriter>();
        services.TryAddSingleton<FunctionReconciler>();
        services.TryAddSingleton<ControllerManager>();
        services.AddHostedService<InformerService>();
        services.AddHostedService<LeaderElectionService>();
    }

    private static void MapEndpoints(WebApplication app)
    {
        var manager = app.Services.GetRequiredService<ControllerManager>();
        var registry = app.Services.GetRequiredService<OperatorMetrics>().Registry;
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", () => manager.HasSynced
            ? Results.Text(manager.IsLeading ? "ok (leader)" : "ok (follower)")
            : Results.Text("informers not synced", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapMetrics("/metrics", registry);
    }
}
