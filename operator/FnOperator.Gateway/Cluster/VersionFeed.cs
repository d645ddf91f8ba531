using System.Text.Json;
using FnOperator.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Metrics;
using FnOperator.Kubernetes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FnOperator.Gateway.Cluster;

/// <summary>
/// Serve mode's source of published versions and aliases: the shared informer over the operator's version
/// ControllerRevisions (label <c>fnoperator.io/kind=function-version</c>; data = the frozen spec and resolved code) and
/// over Aliases, mirrored into the <see cref="FunctionRegistry"/> per Function. A Function registered later (the
/// Function watch runs apart) gets its versions as soon as the registry reports it. The gateway reports ready only once
/// both caches have listed (and every registered Function was synced from them), so a replica never answers
/// "Function not found" for a version or alias that exists.
/// </summary>
public sealed partial class VersionFeed(
    IKubernetes client, FunctionRegistry functions, GatewayReadiness readiness, WatchScope scope, GatewayMetrics metrics, TimeProvider time,
    ILogger<VersionFeed> logger) : BackgroundService
{
    public const string RevisionSelector = "app.kubernetes.io/managed-by=fn-operator,fnoperator.io/kind=function-version";
    public const string DescriptionAnnotation = FunctionVersioning.PublishDescriptionAnnotation;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private Informer<V1ControllerRevision>? revisions;
    private Informer<Alias>? aliases;

    public const string ReadinessComponent = "versions";

    public static void Register(IServiceCollection services)
    {
        services.TryAddSingleton<GatewayReadiness>();
        services.AddHostedService<VersionFeed>();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        readiness.Set(ReadinessComponent, false);
        var watchMetrics = new WatchMetrics(metrics.Registry);
        revisions = new Informer<V1ControllerRevision>("ControllerRevision", ListWatch.ControllerRevisions(client, RevisionSelector, scope.Namespace), time, watchMetrics, logger);
        aliases = new Informer<Alias>(Alias.KindName, ListWatch.CustomResources<Alias>(client, scope.Namespace), time, watchMetrics, logger);
        revisions.Upserted += (_, r) => Sync(OwnerOf(r));
        revisions.Deleted += r => Sync(OwnerOf(r));
        aliases.Upserted += (_, a) => Sync(FunctionOf(a));
        aliases.Deleted += a => Sync(FunctionOf(a));
        functions.Changed += Sync;
        try
        {
            var running = Task.WhenAll(revisions.RunAsync(stoppingToken), aliases.RunAsync(stoppingToken));
            var synced = Task.WhenAll(revisions.Synced, aliases.Synced);
            if (await Task.WhenAny(synced, running).ConfigureAwait(false) == synced)
            {
                foreach (var (key, _) in functions.All)
                {
                    Sync(key);
                }

                readiness.Set(ReadinessComponent, true);
                LogListed(logger, revisions.Count, aliases.Count);
            }

            await running.ConfigureAwait(false);
        }
        finally
        {
            functions.Changed -= Sync;
        }
    }

    /// <summary>The versions and aliases of one Function from the caches, into the registry (a no-op when nothing changed).</summary>
    private void Sync(FunctionKey? key)
    {
        if (key is null || revisions is null || aliases is null || !functions.Contains(key))
        {
            return;
        }

        var versions = revisions.List()
            .Where(r => OwnerOf(r) == key)
            .Select(ToVersion)
            .OfType<PublishedVersion>()
            .ToList();
        var routes = new Dictionary<string, AliasRoute>(StringComparer.Ordinal);
        foreach (var alias in aliases.List().Where(a => FunctionOf(a) == key))
        {
            var weights = alias.Spec.RoutingConfig?.AdditionalVersionWeights;
            var extra = weights is { Count: 1 } ? weights.First() : default;
            var name = string.IsNullOrEmpty(alias.Spec.Name) ? alias.Metadata.Name : alias.Spec.Name;
            routes[name] = new AliasRoute(alias.Spec.FunctionVersion, extra.Key, extra.Key is null ? 0 : extra.Value) { Description = alias.Spec.Description };
        }

        if (functions.ReplaceVersions(key, versions, routes))
        {
            LogSynced(logger, key.Namespace, key.Name, versions.Count, routes.Count);
        }
    }

    /// <summary>The version a revision holds; null when its data is not a version snapshot.</summary>
    public static PublishedVersion? ToVersion(V1ControllerRevision revision)
    {
        if (revision.Revision is not (>= 1 and <= int.MaxValue) || revision.Data is null)
        {
            return null;
        }

        try
        {
            var data = JsonSerializer.Deserialize<Snapshot>(JsonSerializer.SerializeToUtf8Bytes(revision.Data, Json), Json);
            if (data?.Spec is null)
            {
                return null;
            }

            var description = revision.Metadata.Annotations is { } a && a.TryGetValue(DescriptionAnnotation, out var d) && d.Length > 0 ? d : null;
            return new PublishedVersion(revision.Revision.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), data.Spec, data.Code?.Sha256, description);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static FunctionKey? OwnerOf(V1ControllerRevision revision) =>
        revision.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true && o.Kind == Function.KindName) is { } owner
            ? new FunctionKey(revision.Metadata.NamespaceProperty ?? FunctionKey.DefaultNamespace, owner.Name)
            : null;

    private static FunctionKey? FunctionOf(Alias alias) =>
        string.IsNullOrEmpty(alias.Spec?.FunctionName) ? null : new FunctionKey(alias.Metadata.NamespaceProperty ?? FunctionKey.DefaultNamespace, alias.Spec.FunctionName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listed versions and Aliases revisions={Revisions} aliases={Aliases}")]
    private static partial void LogListed(ILogger logger, int revisions, int aliases);

    [LoggerMessage(Level = LogLevel.Information, Message = "Synced versions namespace={Namespace} function={Function} versions={Versions} aliases={Aliases}")]
    private static partial void LogSynced(ILogger logger, string @namespace, string function, int versions, int aliases);

    private sealed record Snapshot(FunctionSpec? Spec, SnapshotCode? Code);

    private sealed record SnapshotCode(string? Sha256);
}
