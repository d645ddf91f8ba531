using FnOperator.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Metrics;
using FnOperator.Kubernetes;
using k8s;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FnOperator.Gateway.Cluster;

/// <summary>
/// Serve mode's source of functions: the shared informer (list, then watch with bookmarks; resume, or relist on 410
/// Gone, with jittered backoff) over fnoperator.io Functions, mirrored into the <see cref="FunctionRegistry"/> as
/// their $LATEST specs. A relist removes what disappeared meanwhile. The gateway reports ready once the first list is in.
/// </summary>
public sealed partial class FunctionFeed(
    IKubernetes client,
    FunctionRegistry functions,
    GatewayReadiness readiness,
    WatchScope scope,
    GatewayMetrics metrics,
    TimeProvider time,
    ILogger<FunctionFeed> logger) : BackgroundService
{
    public static void Register(WebApplicationBuilder builder, string? ns)
    {
        builder.Services.TryAddSingleton<IKubernetes>(_ => new k8s.Kubernetes(KubernetesConfig.Load()));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new WatchScope(ns));
        builder.Services.TryAddSingleton<GatewayReadiness>();
        builder.Services.AddHostedService<FunctionFeed>();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        readiness.Set(false);
        var informer = new Informer<Function>(Function.KindName, ListWatch.CustomResources<Function>(client, scope.Namespace),
            time, new WatchMetrics(metrics.Registry), logger);
        informer.Upserted += (_, function) => Upsert(function);
        informer.Deleted += function =>
        {
            if (Key(function) is { } key)
            {
                functions.Remove(key);
            }
        };
        var running = informer.RunAsync(stoppingToken);
        if (await Task.WhenAny(informer.Synced, running).ConfigureAwait(false) == informer.Synced)
        {
            readiness.Set(true);
            LogListed(logger, informer.Count);
        }

        await running.ConfigureAwait(false);
    }

    private void Upsert(Function function)
    {
        if (Key(function) is { } key)
        {
            functions.Upsert(key, function.Spec);
        }
    }

    private static FunctionKey? Key(Function function) =>
        string.IsNullOrEmpty(function.Metadata?.Name) ? null : new FunctionKey(function.Metadata.NamespaceProperty ?? FunctionKey.DefaultNamespace, function.Metadata.Name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listed Functions count={Count}")]
    private static partial void LogListed(ILogger logger, int count);
}

/// <summary>The namespace the feed is limited to; null = all namespaces.</summary>
public sealed record WatchScope(string? Namespace);
