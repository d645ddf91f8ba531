using System.Globalization;
using System.Net;
using FnOperator.Api;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Layer → immutable numbered versions in status.versions[]. Phases: validate (content.path is local mode's) → resolve the
/// content (url: downloaded once per sha256, verified, measured; configMap: read and hashed; image: the reference) →
/// publish a version when the content or compatibleRuntimes differ from the latest one (configMap content is frozen in an
/// immutable snapshot ConfigMap owned by the Layer) → prune versions past the retention count that no Function uses and
/// no published Function version (a ControllerRevision snapshot, docs/versions.md) was frozen with.
/// A failed fetch leaves the published versions as they were: Functions keep using them.
/// </summary>
public sealed class LayerReconciler(
    Informer<Layer> layers, Informer<Function> functions, Informer<V1Deployment> deployments, Informer<V1ControllerRevision> revisions,
    LayerContentFetcher fetcher, LayerSnapshots snapshots, IKubernetes client,
    StatusWriter statusWriter, IEventRecorder events, IOptions<OperatorOptions> optionsAccessor, TimeProvider time) : IReconciler
{
    private const string CacheBehind = "The Layer cache is behind its status in the API; reconciling again.";
    private readonly OperatorOptions options = optionsAccessor.Value;

    public string Kind => Layer.KindName;

    public static IEnumerable<ObjectKey> UsedLayers(Function fn) =>
        (fn.Spec.Layers ?? []).Select(l => new ObjectKey(fn.Metadata.NamespaceProperty ?? "", l.Name));

    /// <summary>
    /// A change of a Function's Deployment re-enqueues the Layers the Function uses: pruning keeps what the Deployments
    /// still place, and the roll away from a version can reach this cache after the Function's own status change did (the
    /// two are separate watches), so without this a version past retention could stay until the dependency poll.
    /// </summary>
    public static Action WatchDeployments(IServiceProvider services, Action<ObjectKey> enqueue)
    {
        var deployments = services.GetRequiredService<Informer<V1Deployment>>();
        var functions = services.GetRequiredService<Informer<Function>>();
        var owner = ResourceInfo.Of<Function>();
        void Changed(V1Deployment deployment)
        {
            if (ControllerBuilder<Function>.Owner(deployment, owner) is { } key && functions.Get(key) is { } fn)
            {
                foreach (var layer in UsedLayers(fn))
                {
                    enqueue(layer);
                }
            }
        }

        Action<V1Deployment?, V1Deployment> upserted = (_, deployment) => Changed(deployment);
        deployments.Upserted += upserted;
        deployments.Deleted += Changed;
        return () =>
        {
            deployments.Upserted -= upserted;
            deployments.Deleted -= Changed;
        };
    }

    /// <summary>A published Function version (created, or deleted when pruned) re-enqueues the Layers its snapshot holds.</summary>
    public static IEnumerable<ObjectKey> LayersOfPublishedVersion(V1ControllerRevision revision) =>
        VersionSnapshot.FromRevision(revision)?.Layers.Select(l => new ObjectKey(revision.Metadata.NamespaceProperty ?? "", l.Name)).Distinct() ?? [];

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        if (layers.Get(key) is not { Metadata.DeletionTimestamp: null } layer)
        {
            return ReconcileResult.Done; // snapshot ConfigMaps carry owner references: the garbage collector removes them
        }

        // A generation the cache has not seen reconciled: the API may hold this reconciler's status for it already (the
        // watch event of that write still on its way). Starting from the older status would fetch the content again and
        // publish it again; the watch brings the newer status and reconciles it from there.
        if (layer.Status?.ObservedGeneration != layer.Metadata.Generation && await StatusMovedOnAsync(layer, cancellationToken).ConfigureAwait(false))
        {
            return ReconcileResult.Conflict(CacheBehind);
        }

        // A copy: the cached Layer is the informer's, and StatusWriter tells a change by comparing with it.
        var status = layer.Status is { } cached ? KubernetesJson.Deserialize<LayerStatus>(KubernetesJson.Serialize(cached)) : new LayerStatus();
        status.Versions ??= [];
        status.LatestVersion = status.Versions.Count > 0 ? status.Versions.Max(v => v.Version) : null;
        var conditions = LayerConditions.Set.Manage(status, layer.Metadata.Generation, time.GetUtcNow());
        conditions.BeginGeneration();
        var state = new LayerState(layer, status, conditions);
        var failed = await Phases.RunAsync(
            state, [ValidateAsync, ResolveAsync, PublishAsync], conditions,
            p => events.Record(layer, EventType.Warning, p.Reason, p.Message), options.DependencyRetry, cancellationToken).ConfigureAwait(false);
        if (state.Stale)
        {
            // Nothing published, pruned or written from a status the API has moved past; the watch brings the newer one.
            return ReconcileResult.Conflict(CacheBehind);
        }

        await PruneAsync(state, cancellationToken).ConfigureAwait(false);
        conditions.ObserveGeneration();

        // ConfigMap content is not watched: look at it again now and then so edits publish a version.
        var next = failed ?? (layer.Spec.Content.ConfigMap is not null ? ReconcileResult.After(options.DependencyRetry) : ReconcileResult.Done);
        return await statusWriter.WriteAsync(layer, status, cancellationToken).ConfigureAwait(false)
            ? next
            : ReconcileResult.Conflict("Layer changed while its status was written.");
    }

    private static Task<Problem?> ValidateAsync(LayerState state, CancellationToken cancellationToken) =>
        Task.FromResult(state.Layer.Spec.Content.Path is not null
            ? Problem.Terminal(LayerConditions.ContentReady, LayerReasons.LocalModeOnly,
                "spec.content.path is for local mode (fnop run); in a cluster use url + sha256, configMap or image.")
            : null);

    private async Task<Problem?> ResolveAsync(LayerState state, CancellationToken cancellationToken)
    {
        var content = state.Layer.Spec.Content;
        var latest = state.Latest;
        if (content.Url is { } url)
        {
            var sha = content.Sha256 ?? "";
            if (latest is not null && latest.CodeSha256 == sha && latest.Url is not null)
            {
                // Already published: no download. The same archive under another url stays the same version.
                state.Content = new LayerContentResult(sha, latest.Size, latest.UnzippedSize) { Url = latest.Url };
                return null;
            }

            var (fetched, problem) = await fetcher.FetchAsync(url, sha, cancellationToken).ConfigureAwait(false);
            state.Content = fetched;
            return problem;
        }

        if (content.Image is { } image)
        {
            state.Content = new LayerContentResult(CodeResolver.Hash(image), 0, 0) { Image = image };
            return null;
        }

        var (read, missing) = await snapshots.ReadAsync(state.Layer, cancellationToken).ConfigureAwait(false);
        state.Content = read;
        return missing;
    }

    private async Task<Problem?> PublishAsync(LayerState state, CancellationToken cancellationToken)
    {
        var layer = state.Layer;
        var content = state.Content!;
        var runtimes = layer.Spec.CompatibleRuntimes is { Count: > 0 } r ? [.. r] : (List<string>?)null;
        if (state.Latest is { } latest && LayerContentResult.Matches(latest, content, runtimes))
        {
            state.Conditions.MarkTrue(LayerConditions.ContentReady, LayerReasons.Published, $"Version {latest.Version} holds spec.content.");
            return null;
        }

        // A new number comes from the cached status, which may not show this reconciler's last write yet (a watch behind
        // the API): a version would be published twice, its snapshot ConfigMap replaced under the Deployments that mount
        // it, and a pruned one brought back. So the API's status is read first, once per publish; when it has moved on,
        // this reconcile stops (Stale) and runs again from the newer status.
        if (await StatusMovedOnAsync(layer, cancellationToken).ConfigureAwait(false))
        {
            state.Stale = true;
            return null;
        }

        var number = (state.Status.LatestVersion ?? 0) + 1;
        var version = new LayerVersion
        {
            Version = number,
            CodeSha256 = content.Sha256,
            Url = content.Url,
            Image = content.Image,
            Size = content.Size,
            UnzippedSize = content.UnzippedSize,
            CompatibleRuntimes = runtimes,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        if (content.ConfigMapData is not null)
        {
            version.ConfigMap = await snapshots.CreateAsync(layer, number, content, cancellationToken).ConfigureAwait(false);
        }

        state.Status.Versions!.Add(version);
        state.Status.LatestVersion = number;
        events.Record(layer, EventType.Normal, LayerReasons.PublishedVersion,
            string.Create(CultureInfo.InvariantCulture, $"Published version {number} (sha256 {content.Sha256}, {content.Size} bytes)"));
        state.Conditions.MarkTrue(LayerConditions.ContentReady, LayerReasons.Published, $"Version {number} holds spec.content.");
        return null;
    }

    private async Task<bool> StatusMovedOnAsync(Layer cached, CancellationToken cancellationToken)
    {
        try
        {
            var current = await client.CustomObjects.GetNamespacedCustomObjectAsync<Layer>(
                ApiGroup.Group, ApiGroup.Version, cached.Metadata.NamespaceProperty, Layer.Plural, cached.Metadata.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return current.Metadata.Uid != cached.Metadata.Uid
                || StatusWriter.Json(current.Status) != StatusWriter.Json(cached.Status);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return true; // deleted meanwhile: the watch's deletion ends it
        }
    }

    // Keeps the latest, the newest LayerVersionRetention, every version a Function names (or follows as latest), and every
    // version a published Function version's snapshot holds: that version's Deployment places it, now or whenever an
    // Alias comes to point at it, so its archive checksum and snapshot ConfigMap must outlive any retention count.
    private async Task PruneAsync(LayerState state, CancellationToken cancellationToken)
    {
        var versions = state.Status.Versions!;
        if (versions.Count <= options.LayerVersionRetention)
        {
            return;
        }

        var layer = state.Layer;
        var key = new ObjectKey(layer.Metadata.NamespaceProperty ?? "", layer.Metadata.Name).ToString();
        var users = functions.ByIndex(LayerResolver.ByLayer, key).ToList();
        var pinned = users
            .SelectMany(fn => fn.Spec.Layers ?? [])
            .Where(l => l.Name == layer.Metadata.Name && l.Version is not null)
            .Select(l => l.Version!.Value)
            .ToHashSet();
        var deployed = DeployedContent(users);
        var published = PublishedVersionsUsing(layer);
        var keep = versions.OrderByDescending(v => v.Version).Take(options.LayerVersionRetention).Select(v => v.Version).ToHashSet();
        foreach (var old in versions.Where(v => !keep.Contains(v.Version) && !pinned.Contains(v.Version) && !published.Contains(v.Version)
            && !deployed.Contains(v.CodeSha256) && (v.ConfigMap is null || !deployed.Contains(v.ConfigMap))).ToList())
        {
            if (old.ConfigMap is { } snapshot)
            {
                await snapshots.DeleteAsync(layer, snapshot, cancellationToken).ConfigureAwait(false);
            }

            versions.Remove(old);
            events.Record(layer, EventType.Normal, LayerReasons.PrunedVersion,
                string.Create(CultureInfo.InvariantCulture, $"Pruned version {old.Version}: past the newest {options.LayerVersionRetention} and used by no Function or published Function version"));
        }
    }

    // The layer versions the published Function versions of the Layer's namespace were frozen with. Any Function's: one that
    // no longer lists the Layer may still have versions that do. Runs only when there is something past retention to prune.
    private HashSet<int> PublishedVersionsUsing(Layer layer) =>
        [.. revisions.List()
            .Where(r => r.Metadata.NamespaceProperty == layer.Metadata.NamespaceProperty)
            .Select(VersionSnapshot.FromRevision)
            .OfType<VersionSnapshot>()
            .SelectMany(s => s.Layers)
            .Where(l => l.Name == layer.Metadata.Name)
            .Select(l => l.Version)];

    // What the users' Deployments still place (archive checksums, snapshot ConfigMaps): a version a Deployment runs, or
    // rolls away from, is not pruned under it.
    private HashSet<string> DeployedContent(IEnumerable<Function> users)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fn in users)
        {
            var pod = deployments.Get(new ObjectKey(fn.Metadata.NamespaceProperty ?? "", Names.Deployment(FunctionVersion.Latest(fn))))?.Spec?.Template?.Spec;
            foreach (var init in pod?.InitContainers ?? [])
            {
                found.UnionWith((init.Env ?? []).Where(e => e.Name == "FNOP_SHA256" && e.Value is not null).Select(e => e.Value));
            }

            found.UnionWith((pod?.Volumes ?? []).Where(v => v.ConfigMap?.Name is not null).Select(v => v.ConfigMap.Name));
        }

        return found;
    }

    private sealed class LayerState(Layer layer, LayerStatus status, ConditionManager conditions)
    {
        public Layer Layer => layer;

        public LayerStatus Status => status;

        public ConditionManager Conditions => conditions;

        public LayerVersion? Latest => status.Versions?.FirstOrDefault(v => v.Version == status.LatestVersion);

        public LayerContentResult? Content { get; set; }

        /// <summary>The API's status has moved past the cached one this reconcile started from.</summary>
        public bool Stale { get; set; }
    }
}
