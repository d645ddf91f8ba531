using k8s;
using k8s.Models;

namespace FnOperator.Operator.Autoscaling;

/// <summary>Actuates through the Deployment's <c>/scale</c> subresource (RBAC: deployments/scale patch), never the whole object.</summary>
public sealed class DeploymentScaler(IKubernetes client) : IScaleActuator
{
    public async Task ScaleAsync(string @namespace, string deployment, int replicas, CancellationToken cancellationToken)
    {
        var patch = new V1Patch($"{{\"spec\":{{\"replicas\":{replicas}}}}}", V1Patch.PatchType.MergePatch);
        await client.AppsV1.PatchNamespacedDeploymentScaleAsync(patch, deployment, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
