using System.Net;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Creates the desired Deployment or brings the live one back to it (drift repair): only fields the builder sets are
/// compared, so server defaults do not cause updates. spec.replicas is left alone when the autoscaler owns it.
/// Stale reads (409) are retried with a fresh read. Creates and updates are recorded as Events on the Function.
/// </summary>
public sealed partial class DeploymentApplier(IKubernetes client, Informer<V1Deployment> cache, IEventRecorder events, ILogger<DeploymentApplier> logger)
{
    private const int Attempts = 4;

    /// <summary>The Deployment phase: sets <see cref="FunctionState.Deployment"/>, or a Deployment of another owner in the way.</summary>
    public Task<Problem?> ApplyAsync(FunctionState state, V1Deployment desired, CancellationToken cancellationToken) =>
        ApplyAsync(state.Function, desired, applied => state.Deployment = applied, cancellationToken);

    /// <summary>Applies one Deployment of <paramref name="fn"/> (any version); <paramref name="applied"/> receives the live object.</summary>
    public async Task<Problem?> ApplyAsync(Function fn, V1Deployment desired, Action<V1Deployment> applied, CancellationToken cancellationToken)
    {
        var ns = desired.Metadata.NamespaceProperty;
        var name = desired.Metadata.Name;
        var existing = cache.Get(new ObjectKey(ns, name));
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (existing is null)
                {
                    var created = await client.AppsV1.CreateNamespacedDeploymentAsync(desired, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                    LogCreated(ns, name, fn.Metadata.Name);
                    events.Record(fn, EventType.Normal, FunctionReasons.CreatedDeployment, $"Created Deployment {name}");
                    applied(created);
                    return null;
                }

                if (!OwnedBy(existing, fn))
                {
                    // A foreign Deployment is not watched: looked at again slowly, so removing it lets the Function through.
                    return Problem.AfterDependency(FunctionConditions.DeploymentReady, FunctionReasons.DeploymentConflict,
                        $"Deployment {ns}/{name} exists and is not controlled by this Function; delete or rename it.");
                }

                var merged = Merge(existing, desired);
                if (JsonSubset.Contains(existing, merged))
                {
                    applied(existing);
                    return null;
                }

                var replaced = await client.AppsV1.ReplaceNamespacedDeploymentAsync(merged, name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                LogUpdated(ns, name, fn.Metadata.Name, desired.Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash]);
                events.Record(fn, EventType.Normal, FunctionReasons.UpdatedDeployment, $"Updated Deployment {name}");
                applied(replaced);
                return null;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < Attempts)
            {
                // Stale cache (update conflict) or the object already exists (create race): read it fresh and go again.
                existing = await ReadAsync(ns, name, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound && existing is not null && attempt < Attempts)
            {
                existing = null; // deleted under us: create it
            }
        }
    }

    private async Task<V1Deployment?> ReadAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await client.AppsV1.ReadNamespacedDeploymentAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public static bool OwnedBy(V1Deployment deployment, Function fn) =>
        deployment.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Kind == Function.KindName && o.Uid == fn.Metadata.Uid) == true;

    /// <summary>The live object with the desired labels, owner reference and spec (replicas kept when the autoscaler owns them).</summary>
    public static V1Deployment Merge(V1Deployment existing, V1Deployment desired)
    {
        var merged = KubernetesJson.Deserialize<V1Deployment>(KubernetesJson.Serialize(existing));
        merged.Metadata.Labels ??= new Dictionary<string, string>();
        foreach (var (key, value) in desired.Metadata.Labels)
        {
            merged.Metadata.Labels[key] = value;
        }

        merged.Metadata.OwnerReferences = desired.Metadata.OwnerReferences;
        var autoscaled = existing.Metadata.Annotations is { } annotations &&
            annotations.TryGetValue(Names.AnnotationReplicasOwner, out var replicasOwner) && replicasOwner == Names.ReplicasOwnerAutoscaler;
        merged.Spec.Replicas = autoscaled ? existing.Spec.Replicas : desired.Spec.Replicas;

        // A Deployment created before the builder marked the autoscaler as the owner of replicas is adopted: this
        // update sets the builder's count and the annotation, and from then on the autoscaler owns replicas.
        if (desired.Metadata.Annotations?.TryGetValue(Names.AnnotationReplicasOwner, out var owner) == true)
        {
            merged.Metadata.Annotations ??= new Dictionary<string, string>();
            merged.Metadata.Annotations[Names.AnnotationReplicasOwner] = owner;
        }
        merged.Spec.Template = desired.Spec.Template;
        merged.Spec.Strategy = desired.Spec.Strategy;
        merged.Spec.RevisionHistoryLimit = desired.Spec.RevisionHistoryLimit;
        return merged;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created Deployment namespace={Namespace} name={Name} function={Function}")]
    private partial void LogCreated(string @namespace, string name, string function);

    [LoggerMessage(Level = LogLevel.Information, Message = "Updated Deployment namespace={Namespace} name={Name} function={Function} templateHash={TemplateHash}")]
    private partial void LogUpdated(string @namespace, string name, string function, string templateHash);
}
