using System.Net;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// The per-version Deployment phase: a Deployment <c>&lt;fn&gt;-v&lt;N&gt;</c> for every published version that is
/// referenced (an Alias points to it, its snapshot asks for provisioned concurrency, or the gateway reported work for it
/// within the retention window, <see cref="InvokedVersions"/>), built from the version's immutable snapshot, so later
/// spec changes never alter it; Deployments of versions no longer referenced (or pruned) are deleted — except while
/// <see cref="InvokedVersions.Seeded"/> is false (a new leader has not read the set yet). Writes status.versions[].
/// </summary>
public sealed partial class VersionDeployments(
    IKubernetes client, Informer<V1Deployment> deployments, DeploymentApplier applier, VersionPublisher publisher,
    PullCredentialApplier pullCredentials, InvokedVersions invoked, IEventRecorder events, IOptions<OperatorOptions> options, ILogger<VersionDeployments> logger)
{
    public const string DeletedDeployment = "DeletedDeployment";

    /// <summary>The published versions that get a Deployment.</summary>
    public static IReadOnlyList<VersionSnapshot> Referenced(IReadOnlyList<VersionSnapshot> versions, IReadOnlySet<int> aliased, IReadOnlySet<int> invoked) =>
        [.. versions.Where(v => aliased.Contains(v.Number) || invoked.Contains(v.Number) || v.Spec.Concurrency?.Provisioned > 0)];

    public async Task<Problem?> ApplyAsync(FunctionState state, CancellationToken cancellationToken)
    {
        var fn = state.Function;
        var referenced = Referenced(state.Versions, publisher.AliasedVersions(fn), invoked.Recent(fn));
        var wanted = new HashSet<string>(StringComparer.Ordinal) { Names.Deployment(FunctionVersion.Latest(fn)) };
        foreach (var version in referenced)
        {
            var published = FunctionVersion.Published(fn, version.Number, version.Spec);
            if (await pullCredentials.ApplyAsync(fn, published, cancellationToken).ConfigureAwait(false) is { } credentialProblem)
            {
                return credentialProblem;
            }

            var desired = DeploymentBuilder.Build(published, version.Code, version.Layers, options.Value);
            wanted.Add(desired.Metadata.Name);
            if (await applier.ApplyAsync(fn, desired, _ => { }, cancellationToken).ConfigureAwait(false) is { } problem)
            {
                return problem;
            }
        }

        if (invoked.Seeded)
        {
            await DeleteUnwantedAsync(fn, wanted, cancellationToken).ConfigureAwait(false);
        }
        var deployed = referenced.Select(v => v.Number).ToHashSet();
        state.Status.Versions = state.Versions.Count == 0
            ? null
            : [.. state.Versions.Select(v => new FunctionVersionStatus
            {
                Version = v.Version,
                CodeSha256 = v.Code.Sha256,
                RevisionName = v.RevisionName,
                Description = v.Description,
                Created = v.Created,
                Deployed = deployed.Contains(v.Number),
            })];
        return null;
    }

    private async Task DeleteUnwantedAsync(Function fn, HashSet<string> wanted, CancellationToken cancellationToken)
    {
        var stale = deployments.List().Where(d =>
            d.Metadata.NamespaceProperty == fn.Metadata.NamespaceProperty && !wanted.Contains(d.Metadata.Name) &&
            d.Metadata.Labels?.ValueOf(Names.LabelVersion) is { } label && label != Names.LatestVersionLabel &&
            DeploymentApplier.OwnedBy(d, fn)).ToList();
        foreach (var deployment in stale)
        {
            try
            {
                await client.AppsV1.DeleteNamespacedDeploymentAsync(deployment.Metadata.Name, deployment.Metadata.NamespaceProperty,
                    propagationPolicy: "Background", cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                continue;
            }

            LogDeleted(logger, deployment.Metadata.NamespaceProperty, deployment.Metadata.Name, fn.Metadata.Name);
            events.Record(fn, EventType.Normal, DeletedDeployment, $"Deleted Deployment {deployment.Metadata.Name} (its version is no longer referenced)");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted Deployment namespace={Namespace} name={Name} function={Function}")]
    private static partial void LogDeleted(ILogger logger, string @namespace, string name, string function);
}
