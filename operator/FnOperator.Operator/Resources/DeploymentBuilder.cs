using System.Security.Cryptography;
using System.Text;
using FnOperator.Api;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Resources;

/// <summary>
/// Builds the desired Deployment of a function version ($LATEST or a published number): one container that runs the
/// runtime-shim (copied in by an init container) which starts the runtime image's entrypoint as its child; code fetched
/// into /var/task and layers into /opt by init containers; /tmp as a sized emptyDir; PSS-restricted security contexts.
/// Pure: same inputs, same object.
/// </summary>
public static class DeploymentBuilder
{
    /// <summary>The Deployment of a Function's $LATEST.</summary>
    public static V1Deployment Build(Function fn, ResolvedCode code, IReadOnlyList<ResolvedLayer> layers, OperatorOptions options) =>
        Build(FunctionVersion.Latest(fn), code, layers, options);

    public static V1Deployment Build(
        FunctionVersion version, ResolvedCode code, IReadOnlyList<ResolvedLayer> layers, OperatorOptions options)
    {
        var template = new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta
            {
                Labels = Names.Labels(version),
                Annotations = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    [Names.AnnotationCodeSha256] = code.Sha256,
                },
            },
            Spec = PodSpecBuilder.Build(version, code, layers, options),
        };
        template.Metadata.Annotations[Names.AnnotationTemplateHash] = TemplateHash(template);

        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta
            {
                Name = Names.Deployment(version),
                NamespaceProperty = version.Namespace,
                Labels = Names.Labels(version),
                // The cluster autoscaler owns spec.replicas (the applier then keeps them); this sets only the first count.
                Annotations = new Dictionary<string, string>(StringComparer.Ordinal) { [Names.AnnotationReplicasOwner] = Names.ReplicasOwnerAutoscaler },
                OwnerReferences = [OwnerReference(version)],
            },
            Spec = new V1DeploymentSpec
            {
                Replicas = version.Spec.Concurrency?.Provisioned is int provisioned && provisioned > 0 ? provisioned : 1,
                Selector = new V1LabelSelector { MatchLabels = Names.Selector(version) },
                RevisionHistoryLimit = 3,
                Strategy = new V1DeploymentStrategy
                {
                    Type = "RollingUpdate",
                    RollingUpdate = new V1RollingUpdateDeployment { MaxSurge = "25%", MaxUnavailable = 0 },
                },
                Template = template,
            },
        };
    }

    /// <summary>The controller owner reference that ties a child to its Function (garbage collection, watch mapping).</summary>
    public static V1OwnerReference OwnerReference(Function fn) => OwnerReference(FunctionVersion.Latest(fn));

    /// <summary>The controller owner reference of a version's children: every version is owned by its Function.</summary>
    public static V1OwnerReference OwnerReference(FunctionVersion version) => new()
    {
        ApiVersion = ApiGroup.ApiVersion,
        Kind = Function.KindName,
        Name = version.FunctionName,
        Uid = version.Uid,
        Controller = true,
        BlockOwnerDeletion = true,
    };

    /// <summary>Short SHA-256 of the pod template's JSON: any input change gives a new hash and so a rollout.</summary>
    public static string TemplateHash(V1PodTemplateSpec template) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(KubernetesJson.Serialize(template))))[..16];
}
