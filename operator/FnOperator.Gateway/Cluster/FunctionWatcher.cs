using System.Text.Json;
using System.Text.Json.Serialization;
using FnOperator.Api;
using FnOperator.Gateway.Functions;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FnOperator.Gateway.Cluster;

/// <summary>
/// Serve mode's source of functions: lists then watches fnoperator.io Functions and mirrors their $LATEST specs into the
/// <see cref="FunctionRegistry"/>. Relists (replacing the registry's view) after any watch error, a closed watch or
/// 410 Gone, with jittered backoff. The gateway reports ready once the first list has been applied.
/// </summary>
public sealed partial class FunctionWatcher(
    IKubernetes client,
    FunctionRegistry functions,
    GatewayReadiness readiness,
    WatchScope scope,
    ILogger<FunctionWatcher> logger) : BackgroundService
{
    public static void Register(WebApplicationBuilder builder, string? ns)
    {
        builder.Services.TryAddSingleton<IKubernetes>(_ => new Kubernetes(KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildDefaultConfig()));
        builder.Services.AddSingleton(new WatchScope(ns));
        builder.Services.AddSingleton(_ => new GatewayReadiness());
        builder.Services.AddHostedService<FunctionWatcher>();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        readiness.Set(false);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var resourceVersion = await ListAsync(stoppingToken).ConfigureAwait(false);
                readiness.Set(true);
                failures = 0;
                await WatchAsync(resourceVersion, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                failures++;
                LogWatchFailed(logger, ex, failures);
            }

            var backoff = TimeSpan.FromMilliseconds(Math.Min(30_000, 250 * Math.Pow(2, Math.Min(failures, 7))) * (0.5 + Random.Shared.NextDouble()));
            await Task.Delay(backoff, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task<string> ListAsync(CancellationToken cancellationToken)
    {
        using var response = scope.Namespace is null
            ? await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(ApiGroup.Group, ApiGroup.Version, Function.Plural,
                cancellationToken: cancellationToken).ConfigureAwait(false)
            : await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(ApiGroup.Group, ApiGroup.Version, scope.Namespace,
                Function.Plural, cancellationToken: cancellationToken).ConfigureAwait(false);
        var list = KubernetesJson.Deserialize<FunctionList>((JsonElement)response.Body);
        var seen = new HashSet<FunctionKey>();
        foreach (var function in list.Items ?? [])
        {
            if (Key(function) is { } key)
            {
                seen.Add(key);
                functions.Upsert(key, function.Spec);
            }
        }

        foreach (var (key, _) in functions.All.Where(f => !seen.Contains(f.Key) && InScope(f.Key)))
        {
            functions.Remove(key);
        }

        LogListed(logger, seen.Count);
        return list.Metadata?.ResourceVersion ?? "";
    }

    private async Task WatchAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        var events = scope.Namespace is null
            ? client.CustomObjects.WatchListClusterCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, Function.Plural,
                allowWatchBookmarks: true, resourceVersion: resourceVersion, timeoutSeconds: 300, onError: e => failure = e,
                cancellationToken: cancellationToken)
            : client.CustomObjects.WatchListNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, scope.Namespace, Function.Plural,
                allowWatchBookmarks: true, resourceVersion: resourceVersion, timeoutSeconds: 300, onError: e => failure = e,
                cancellationToken: cancellationToken);
        await foreach (var (type, obj) in events.ConfigureAwait(false))
        {
            if (type is WatchEventType.Bookmark)
            {
                continue;
            }

            if (type is WatchEventType.Error)
            {
                throw new InvalidOperationException("The Function watch returned an error event (for example 410 Gone); relisting.");
            }

            var function = obj is JsonElement element ? KubernetesJson.Deserialize<Function>(element) : KubernetesJson.Deserialize<Function>(KubernetesJson.Serialize(obj));
            if (Key(function) is not { } key)
            {
                continue;
            }

            if (type is WatchEventType.Deleted)
            {
                functions.Remove(key);
            }
            else
            {
                functions.Upsert(key, function.Spec);
            }
        }

        if (failure is not null)
        {
            throw new InvalidOperationException("The Function watch failed; relisting.", failure);
        }
    }

    private bool InScope(FunctionKey key) => scope.Namespace is null || key.Namespace == scope.Namespace;

    private static FunctionKey? Key(Function function) =>
        string.IsNullOrEmpty(function.Metadata?.Name) ? null : new FunctionKey(function.Metadata.NamespaceProperty ?? FunctionKey.DefaultNamespace, function.Metadata.Name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listed Functions count={Count}")]
    private static partial void LogListed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Function watch failed; relisting failures={Failures}")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, int failures);

    private sealed class FunctionList
    {
        [JsonPropertyName("metadata")]
        public V1ListMeta? Metadata { get; set; }

        [JsonPropertyName("items")]
        public List<Function>? Items { get; set; }
    }
}

/// <summary>The namespace the watcher is limited to; null = all namespaces.</summary>
public sealed record WatchScope(string? Namespace);
