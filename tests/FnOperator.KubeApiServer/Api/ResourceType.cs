using FnOperator.KubeApiServer.Validation;

namespace FnOperator.KubeApiServer;

/// <summary>Where a resource's scale subresource reads and writes replicas (JSON paths like ".spec.replicas").</summary>
public sealed record ScalePaths(string SpecReplicas, string StatusReplicas, string? LabelSelector);

/// <summary>A resource the server serves: built in (Deployments, ConfigMaps...) or from a CRD.</summary>
public sealed record ResourceType(
    string Group,
    string Version,
    string Plural,
    string Kind,
    bool Namespaced,
    bool HasStatus = false,
    ScalePaths? Scale = null,
    bool HasGeneration = false,
    CrdDefinition? Crd = null,
    bool AdHoc = false)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>"deployments.apps", or "configmaps" for the core group, as errors name resources.</summary>
    public string GroupResource => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary>"Deployment.apps", or "ConfigMap" for the core group, as Invalid errors name kinds.</summary>
    public string KindGroup => Group.Length == 0 ? Kind : $"{Kind}.{Group}";

    /// <summary>The store key: shared by every version of a group's resource, as etcd stores one copy.</summary>
    public string StorageKey => $"{(Group.Length == 0 ? "core" : Group)}/{Plural}";
}
