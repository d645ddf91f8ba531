using System.Globalization;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Autoscaling;

/// <summary>
/// Actuates through the Deployment's <c>/scale</c> subresource (RBAC: deployments/scale patch), never the whole object,
/// and only while its count is still the one the decision was made from.
/// Before a scale-in it sets <c>controller.kubernetes.io/pod-deletion-cost</c> on the version's pods (RBAC: pods list,
/// patch): <see cref="BusyCost"/> on pods holding a lease, <see cref="IdleCost"/> on the others, so the ReplicaSet
/// controller (which removes not-ready pods first, then the lowest cost) picks idle pods. Only pods whose annotation
/// differs are patched.
/// </summary>
public sealed class DeploymentScaler(IKubernetes client) : IScaleActuator
{
    public const string DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost";
    public const int IdleCost = 0;
    public const int BusyCost = 1000;

    public async Task ScaleAsync(string @namespace, string deployment, int from, int replicas, CancellationToken cancellationToken)
    {
        // A JSON patch's "test" makes it conditional on the count alone (a failed test answers 422), so the Deployment
        // controller's status writes, which change the resourceVersion all through a rollout, do not refuse it.
        var patch = new V1Patch(
            $"[{{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":{from}}},{{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":{replicas}}}]",
            V1Patch.PatchType.JsonPatch);
        await client.AppsV1.PatchNamespacedDeploymentScaleAsync(patch, deployment, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public async Task MarkBusyAsync(string @namespace, string deployment, IReadOnlyCollection<string> busy, CancellationToken cancellationToken)
    {
        var d = await client.AppsV1.ReadNamespacedDeploymentAsync(deployment, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        var match = d.Spec?.Selector?.MatchLabels;
        if (match is not { Count: > 0 })
        {
            return;
        }

        var selector = string.Join(',', match.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        var pods = await client.CoreV1.ListNamespacedPodAsync(@namespace, labelSelector: selector, cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var pod in pods.Items)
        {
            if (pod.Metadata.DeletionTimestamp is not null)
            {
                continue;
            }

            var cost = (busy.Contains(pod.Metadata.Name) ? BusyCost : IdleCost).ToString(CultureInfo.InvariantCulture);
            if (pod.Metadata.Annotations?.TryGetValue(DeletionCostAnnotation, out var current) == true ? current == cost : cost == "0")
            {
                continue; // already so (no annotation reads as 0)
            }

            var patch = new V1Patch($"{{\"metadata\":{{\"annotations\":{{\"{DeletionCostAnnotation}\":\"{cost}\"}}}}}}", V1Patch.PatchType.MergePatch);
            try
            {
                await client.CoreV1.PatchNamespacedPodAsync(patch, pod.Metadata.Name, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // gone meanwhile
            }
        }
    }
}
