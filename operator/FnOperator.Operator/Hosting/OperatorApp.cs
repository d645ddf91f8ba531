using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace FnOperator.Operator.Hosting;

/// <summary>Builds the operator process: options, Kubernetes client, the registered informers and controllers, leader election, Events, HTTP endpoints.</summary>
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
        services.AddSingleton(config.GetSection(Autoscaling.AutoscalerOptions.Section).Get<Autoscaling.AutoscalerOptions>() ?? new Autoscaling.AutoscalerOptions());
        AddOperator(services);
        configure?.Invoke(services);

        var app = builder.Build();
        MapEndpoints(app);
        return app;
    }

    public static void AddOperator(IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IKubernetes>(_ => new k8s.Kubernetes(KubernetesConfig.Load())); // in-cluster, else $KUBECONFIG, else ~/.kube/config
        services.TryAddSingleton(_ => new OperatorMetrics(Metrics.DefaultRegistry));
        services.TryAddSingleton<StatusWriter>();
        services.TryAddSingleton(sp => new EventRecorderOptions { Instance = sp.GetRequiredService<IOptions<OperatorOptions>>().Value.PodName });
        services.TryAddSingleton<EventRecorder>();
        services.TryAddSingleton<IEventRecorder>(sp => sp.GetRequiredService<EventRecorder>());
        services.AddHostedService(sp => sp.GetRequiredService<EventRecorder>());
        services.TryAddSingleton<ControllerManager>();
        services.AddHostedService<InformerService>();
        services.AddHostedService<LeaderElectionService>();
        AddFunctions(services);
        AddLayers(services);
        AddEventSourceMappings(services);
        Autoscaling.AutoscalerRegistration.AddAutoscaler(services);
    }

    /// <summary>The Function controller: its informers, its helpers and one registration.</summary>
    public static void AddFunctions(IServiceCollection services)
    {
        services.AddInformer<Function>(o =>
        {
            // kubectl apply's copy of the whole object; Functions are only ever written through /status,
            // which ignores metadata, so the cache does not need it.
            o.DroppedAnnotations = [LastAppliedAnnotation];
            o.Index(LayerResolver.ByLayer, LayerResolver.LayerKeys);
        });
        services.AddInformer<Layer>();
        services.AddInformer(
            sp => ListWatch.Deployments(sp.GetRequiredService<IKubernetes>(), Names.ManagedSelector, sp.GetRequiredService<IOptions<OperatorOptions>>().Value.WatchNamespace),
            // A decoded Deployment is ~16 KB, its JSON ~5 KB; readers (the applier, the status mapping) take copies anyway.
            o => o.Compact = true);
        services.TryAddSingleton<CodeResolver>();
        services.TryAddSingleton<LayerResolver>();
        services.TryAddSingleton<FunctionCodeSize>();
        services.TryAddSingleton<DeploymentApplier>();
        services.AddVersioning();
        services.TryAddSingleton(sp => ClusterKey.FromFile(sp.GetRequiredService<IOptions<OperatorOptions>>().Value.ClusterKeyFile));
        services.TryAddSingleton<PullCredentialApplier>();
        services.AddFunctionUrls();
        services.AddController<FunctionReconciler, Function>(b => b
            .Owns<V1Deployment>()
            .Owns<V1ControllerRevision>()
            .Watches<V1Ingress>(FunctionUrlRegistration.FunctionOf)
            .Watches<HttpRoute>(FunctionUrlRegistration.FunctionOf)
            .Watches<Alias>(VersioningRegistration.FunctionOf)
            .Watches(InvokedVersions.Subscribe)
            .Watches<Layer>(byIndex: LayerResolver.ByLayer)
            .When(Predicates.GenerationOrMetadataChanged));
    }

    /// <summary>The Layer controller: publishes versions; a Function change re-enqueues its Layers (pruning keeps what is used).</summary>
    public static void AddLayers(IServiceCollection services)
    {
        services.TryAddSingleton(_ => new LayerContentFetcher(new HttpClient { Timeout = TimeSpan.FromMinutes(5) }));
        services.TryAddSingleton<LayerSnapshots>();
        services.AddController<LayerReconciler, Layer>(b => b
            .Watches<Function>(LayerReconciler.UsedLayers)
            .Watches<V1ControllerRevision>(LayerReconciler.LayersOfPublishedVersion)
            .Watches(LayerReconciler.WatchDeployments)
            .When(Predicates.GenerationOrMetadataChanged));
    }

    /// <summary>EventSourceMappings: the status reconciler and the pollers as leader-only workers (restarted on spec change).</summary>
    public static void AddEventSourceMappings(IServiceCollection services)
    {
        services.AddInformer<EventSourceMapping>(o => o.Index(EventSourceMappingReconciler.ByFunction, EventSourceMappingReconciler.FunctionKeys));
        services.TryAddSingleton<EventSourceMappingRuntime>();
        services.TryAddSingleton<IFunctionInvoker>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<OperatorOptions>>().Value;
            var token = string.IsNullOrEmpty(options.InvokeTokenFile) ? null : new BearerTokenFile(options.InvokeTokenFile, sp.GetService<TimeProvider>() ?? TimeProvider.System);
            return new InvokeClient(new HttpClient { BaseAddress = new Uri(options.GatewayUrl), Timeout = TimeSpan.FromMinutes(16) }, token);
        });
        services.AddController<EventSourceMappingReconciler, EventSourceMapping>(b => b
            .Watches<Function>(byIndex: EventSourceMappingReconciler.ByFunction)
            .When(Predicates.GenerationOrMetadataChanged));
        services.AddLeaderWorker<EventSourceMappingWorker, EventSourceMapping>();
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
