using k8s;
using k8s.Models;

namespace FnOperator.Kubernetes;

/// <summary>The namespace/name of an object: the unit a work queue serialises on.</summary>
public readonly record struct ObjectKey(string Namespace, string Name)
{
    public static ObjectKey Of(IKubernetesObject<V1ObjectMeta> obj) =>
        new(obj.Metadata.NamespaceProperty ?? "", obj.Metadata.Name);

    public override string ToString() => Namespace.Length == 0 ? Name : $"{Namespace}/{Name}";
}
