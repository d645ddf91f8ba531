using System.Collections.Concurrent;
using FnOperator.KubeApiServer.Validation;

namespace FnOperator.KubeApiServer;

/// <summary>The resources the server serves: a fixed set of built-in kinds plus every served version of each CRD.</summary>
public sealed class ResourceRegistry
{
    private static readonly ScalePaths ReplicasScale = new(".spec.replicas", ".status.replicas", ".status.selector");

    private readonly ConcurrentDictionary<(string Group, string Version, string Plural), ResourceType> types = new();
    private readonly ConcurrentDictionary<string, CrdDefinition> crds = new();

    public ResourceRegistry()
    {
        foreach (var type in BuiltIns())
        {
            types[(type.Group, type.Version, type.Plural)] = type;
        }
    }

    public IReadOnlyCollection<ResourceType> Types => [.. types.Values];

    public CrdSchemaValidator Validator { get; private set; } = CrdSchemaValidator.FromObjects([]);

    public ResourceType? Find(string group, string version, string plural) => types.GetValueOrDefault((group, version, plural));

    /// <summary>
    /// Serves a resource no CRD declares, schemaless: namespaced, with status subresource and generation, kinds taken
    /// from the objects themselves (<see cref="KubeApiServerOptions.ServeUnregisteredResources"/>).
    /// </summary>
    public ResourceType AddAdHoc(string group, string version, string plural)
    {
        var singular = plural.EndsWith("ses", StringComparison.Ordinal) ? plural[..^2] : plural.TrimEnd('s');
        var kind = singular.Length == 0 ? plural : char.ToUpperInvariant(singular[0]) + singular[1..];
        return types.GetOrAdd((group, version, plural), _ => new ResourceType(group, version, plural, kind, Namespaced: true, HasStatus: true, HasGeneration: true, AdHoc: true));
    }

    /// <summary>Serves a CRD's versions (replacing an earlier definition of the same name).</summary>
    public void AddCrd(CrdDefinition crd)
    {
        crds[crd.Name] = crd;
        foreach (var version in crd.Versions.Where(v => v.Served))
        {
            var scale = version.Scale is null
                ? null
                : new ScalePaths((string?)version.Scale["specReplicasPath"] ?? ".spec.replicas", (string?)version.Scale["statusReplicasPath"] ?? ".status.replicas", (string?)version.Scale["labelSelectorPath"]);
            types[(crd.Group, version.Name, crd.Plural)] = new ResourceType(crd.Group, version.Name, crd.Plural, crd.Kind, crd.Namespaced, version.HasStatus, scale, HasGeneration: true, crd);
        }

        Validator = CrdSchemaValidator.FromDefinitions([.. crds.Values]);
    }

    public void RemoveCrd(string name)
    {
        if (crds.TryRemove(name, out var crd))
        {
            foreach (var version in crd.Versions)
            {
                types.TryRemove((crd.Group, version.Name, crd.Plural), out _);
            }

            Validator = CrdSchemaValidator.FromDefinitions([.. crds.Values]);
        }
    }

    private static IEnumerable<ResourceType> BuiltIns() =>
    [
        new("", "v1", "namespaces", "Namespace", Namespaced: false, HasStatus: true),
        new("", "v1", "configmaps", "ConfigMap", Namespaced: true),
        new("", "v1", "secrets", "Secret", Namespaced: true),
        new("", "v1", "services", "Service", Namespaced: true, HasStatus: true),
        new("", "v1", "serviceaccounts", "ServiceAccount", Namespaced: true),
        new("", "v1", "events", "Event", Namespaced: true),
        new("", "v1", "pods", "Pod", Namespaced: true, HasStatus: true),
        new("", "v1", "endpoints", "Endpoints", Namespaced: true),
        new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", Namespaced: true),
        new("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", Namespaced: true, HasStatus: true),
        new("events.k8s.io", "v1", "events", "Event", Namespaced: true),
        new("apps", "v1", "deployments", "Deployment", Namespaced: true, HasStatus: true, ReplicasScale, HasGeneration: true),
        new("apps", "v1", "replicasets", "ReplicaSet", Namespaced: true, HasStatus: true, ReplicasScale, HasGeneration: true),
        new("apps", "v1", "statefulsets", "StatefulSet", Namespaced: true, HasStatus: true, ReplicasScale, HasGeneration: true),
        new("apps", "v1", "controllerrevisions", "ControllerRevision", Namespaced: true),
        new("coordination.k8s.io", "v1", "leases", "Lease", Namespaced: true),
        new("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", Namespaced: true, HasStatus: true, HasGeneration: true),
        new("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", Namespaced: true, HasGeneration: true),
        new("networking.k8s.io", "v1", "ingresses", "Ingress", Namespaced: true, HasStatus: true, HasGeneration: true),
        // Gateway API: CRDs in a real cluster (not built in); served here schemaless with status and generation.
        new("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", Namespaced: true, HasStatus: true, HasGeneration: true),
        new("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", Namespaced: true, HasStatus: true),
        new("rbac.authorization.k8s.io", "v1", "roles", "Role", Namespaced: true),
        new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", Namespaced: true),
        new("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", Namespaced: false),
        new("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", Namespaced: false),
        new("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", Namespaced: false, HasStatus: true, HasGeneration: true),
    ];
}
