using System.Globalization;
using System.Net;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// The publish phase of a Function reconcile: reads the Function's published versions (ControllerRevisions it
/// controls), publishes the next one when spec.versioning.autoPublish is set and the code or configuration changed
/// since the highest version, or when the gateway's publish-version asked for it (annotation
/// <see cref="FunctionVersioning.PublishRequestAnnotation"/>; unchanged → the last version is the answer, no new
/// number). Numbers are never reused: the next is one above the highest that exists or was ever reported in
/// status.latestVersion. ConfigMap code is frozen in a copy (<see cref="VersionCodeSnapshots"/>), an image tag is pinned to its digest (<see cref="ImageDigestResolver"/>). Then prunes the oldest versions no Alias points to beyond spec.versioning.retain of them.
/// </summary>
public sealed partial class VersionPublisher(
    IKubernetes client, Informer<V1ControllerRevision> revisions, Informer<Alias> aliases, VersionCodeSnapshots codeSnapshots, ImageDigestResolver imageDigests, IEventRecorder events, TimeProvider time,
    ILogger<VersionPublisher> logger)
{
    /// <summary>Index of ControllerRevisions by the key of the Function that controls them.</summary>
    public const string ByFunction = "revisionsByFunction";

    public const string PublishedVersion = "PublishedVersion";
    public const string PrunedVersion = "PrunedVersion";

    public static IEnumerable<string> FunctionKeys(V1ControllerRevision revision) =>
        revision.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true && o.Kind == Function.KindName) is { } owner
            ? [new ObjectKey(revision.Metadata.NamespaceProperty ?? "", owner.Name).ToString()]
            : [];

    /// <summary>The versions of <paramref name="fn"/> that exist, oldest first.</summary>
    public IReadOnlyList<VersionSnapshot> Versions(Function fn) =>
        [.. revisions.ByIndex(ByFunction, ObjectKey.Of(fn).ToString())
            .Where(r => r.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Uid == fn.Metadata.Uid) == true)
            .Select(VersionSnapshot.FromRevision)
            .OfType<VersionSnapshot>()
            .OrderBy(v => v.Number)];

    /// <summary>The version numbers an Alias of <paramref name="fn"/> points to.</summary>
    public IReadOnlySet<int> AliasedVersions(Function fn) =>
        aliases.ByIndex(AliasReconciler.ByFunction, ObjectKey.Of(fn).ToString())
            .SelectMany(a => AliasReconciler.NamedVersions(a.Spec))
            .Where(FunctionVersions.IsPublished)
            .Select(v => int.Parse(v, CultureInfo.InvariantCulture))
            .ToHashSet();

    public async Task<Problem?> PublishAsync(FunctionState state, CancellationToken cancellationToken)
    {
        var fn = state.Function;
        var versions = Versions(fn).ToList();
        var reported = ReportedHighest(state.Status);
        await AddUncachedAsync(fn, reported, versions, cancellationToken).ConfigureAwait(false);
        var highest = versions.Count == 0 ? null : versions[^1];
        var hash = VersionSnapshot.HashOf(fn.Spec, state.Code, state.Layers);
        var request = fn.Metadata.Annotations?.ValueOf(FunctionVersioning.PublishRequestAnnotation);
        var requested = !string.IsNullOrEmpty(request) && request != state.Status.PublishRequest;
        var changed = highest is null || highest.Hash != hash;
        var wanted = fn.Spec.Versioning?.AutoPublish == true || requested;
        if (changed && wanted &&
            await ReadReportedHighestAsync(fn, cancellationToken).ConfigureAwait(false) is var fresh && fresh > reported)
        {
            // The cached Function lags behind its last status write (the watch event is still on its way): the number
            // it reports was read again from the API, and the version under it may exist without being cached yet.
            reported = fresh;
            await AddUncachedAsync(fn, reported, versions, cancellationToken).ConfigureAwait(false);
            highest = versions.Count == 0 ? null : versions[^1];
            changed = highest is null || highest.Hash != hash;
        }

        if (changed && wanted)
        {
            // An image tag is pinned to its digest (ImageDigestResolver). Unresolvable → nothing is published and the
            // problem is reported after the other phases (state.PublishProblem), so $LATEST and existing versions still deploy.
            var (pinned, unresolved) = await imageDigests.PinAsync(fn, state.Code, cancellationToken).ConfigureAwait(false);
            state.PublishProblem = unresolved;
            if (pinned is not null)
            {
                var number = Math.Max(highest?.Number ?? 0, reported) + 1;
                // ConfigMap code is copied first; the snapshot's hash stays the one of the live code (what "changed" compares).
                var code = state.Code.Source == CodeSource.Image ? pinned : await codeSnapshots.FreezeAsync(state, number, cancellationToken).ConfigureAwait(false);
                var snapshot = VersionSnapshot.Create(number, fn.Spec, code, state.Layers) with
                {
                    Hash = hash,
                    Description = requested ? fn.Metadata.Annotations?.ValueOf(FunctionVersioning.PublishDescriptionAnnotation) : null,
                };
                var created = await client.AppsV1.CreateNamespacedControllerRevisionAsync(
                    snapshot.ToRevision(fn, time.GetUtcNow()), fn.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
                highest = snapshot with { Created = created.Metadata.CreationTimestamp, RevisionName = created.Metadata.Name };
                versions.Add(highest);
                LogPublished(logger, fn.Metadata.NamespaceProperty ?? "", fn.Metadata.Name, number, code.Sha256);
                events.Record(fn, EventType.Normal, PublishedVersion, $"Published version {number} (code {code.Sha256[..Math.Min(12, code.Sha256.Length)]}{(code.ImageTag is null ? "" : $", image {code.Image}")})");
            }
        }

        if (requested && state.PublishProblem is null)
        {
            state.Status.PublishRequest = request;
            state.Status.PublishedVersion = highest?.Version;
        }

        await PruneAsync(fn, versions, cancellationToken).ConfigureAwait(false);
        state.Versions = versions;
        state.Status.LatestVersion = highest?.Version ?? FunctionVersions.Latest;
        return null;
    }

    /// <summary>Keeps the newest <c>retain</c> versions no Alias points to (so always the highest) and every aliased one; deletes the rest.</summary>
    private async Task PruneAsync(Function fn, List<VersionSnapshot> versions, CancellationToken cancellationToken)
    {
        var retain = fn.Spec.Versioning?.Retain ?? VersioningSpec.DefaultRetain;
        var aliased = AliasedVersions(fn);
        var unaliased = versions.Where(v => !aliased.Contains(v.Number)).ToList();
        foreach (var old in unaliased.Take(Math.Max(0, unaliased.Count - retain)).ToList())
        {
            try
            {
                await client.AppsV1.DeleteNamespacedControllerRevisionAsync(
                    old.RevisionName ?? Names.Revision(fn.Metadata.Name, old.Number), fn.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
            }

            if (old.Code.Source == CodeSource.ConfigMap)
            {
                await codeSnapshots.DeleteAsync(fn, old.Number, cancellationToken).ConfigureAwait(false);
            }

            versions.Remove(old);
            LogPruned(logger, fn.Metadata.NamespaceProperty ?? "", fn.Metadata.Name, old.Number);
            events.Record(fn, EventType.Normal, PrunedVersion, $"Deleted version {old.Number} (more than {retain} versions no Alias points to)");
        }
    }

    /// <summary>
    /// The version status.latestVersion reports may be missing from a cache that lags behind the write that created it:
    /// read it from the API, so the same content is not published again under the next number.
    /// </summary>
    private async Task AddUncachedAsync(Function fn, int reported, List<VersionSnapshot> versions, CancellationToken cancellationToken)
    {
        if (reported == 0 || versions.Any(v => v.Number >= reported))
        {
            return;
        }

        try
        {
            var revision = await client.AppsV1.ReadNamespacedControllerRevisionAsync(
                Names.Revision(fn.Metadata.Name, reported), fn.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (revision.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Uid == fn.Metadata.Uid) == true &&
                VersionSnapshot.FromRevision(revision) is { } snapshot)
            {
                versions.Add(snapshot);
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // deleted by hand: its number stays used (the next is one above it)
        }
    }

    /// <summary>
    /// status.latestVersion as the API has it now (0 when the Function is gone or is another object under the same
    /// name). Read only before a version is published, so a reconcile of a cached Function that lags behind its own
    /// status write does not take a number already used (a revision deleted by hand leaves no other trace of it).
    /// </summary>
    private async Task<int> ReadReportedHighestAsync(Function fn, CancellationToken cancellationToken)
    {
        try
        {
            var current = await client.CustomObjects.GetNamespacedCustomObjectAsync<Function>(
                ApiGroup.Group, ApiGroup.Version, fn.Metadata.NamespaceProperty, Function.Plural, fn.Metadata.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return current.Metadata.Uid == fn.Metadata.Uid && current.Status is { } status ? ReportedHighest(status) : 0;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return 0;
        }
    }

    private static int ReportedHighest(FunctionStatus status) =>
        int.TryParse(status.LatestVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    [LoggerMessage(Level = LogLevel.Information, Message = "Published version namespace={Namespace} function={Function} version={Version} codeSha256={CodeSha256}")]
    private static partial void LogPublished(ILogger logger, string @namespace, string function, int version, string codeSha256);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted version namespace={Namespace} function={Function} version={Version}")]
    private static partial void LogPruned(ILogger logger, string @namespace, string function, int version);
}
