using System.Reflection;
using FnOperator.Api.Schema;
using k8s;
using k8s.Models;

namespace FnOperator.Kubernetes;

/// <summary>
/// Where a custom resource type is served: group and version from the type's apiVersion, kind, and the plural from the
/// <see cref="CustomResourceAttribute"/> the CRD generator reads, so no kind repeats its plural in code.
/// </summary>
public sealed record ResourceInfo(string Group, string Version, string Plural, string Kind)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public static ResourceInfo Of<T>()
        where T : IKubernetesObject<V1ObjectMeta>, new() => Cache<T>.Info;

    private static class Cache<T>
        where T : IKubernetesObject<V1ObjectMeta>, new()
    {
        public static readonly ResourceInfo Info = Read();

        private static ResourceInfo Read()
        {
            var attribute = typeof(T).GetCustomAttribute<CustomResourceAttribute>()
                ?? throw new InvalidOperationException($"{typeof(T).Name} has no [CustomResource] attribute.");
            var sample = new T();
            var slash = sample.ApiVersion?.IndexOf('/', StringComparison.Ordinal) ?? -1;
            return slash < 0
                ? new ResourceInfo("", sample.ApiVersion ?? "", attribute.Plural, attribute.Kind)
                : new ResourceInfo(sample.ApiVersion![..slash], sample.ApiVersion[(slash + 1)..], attribute.Plural, attribute.Kind);
        }
    }
}
