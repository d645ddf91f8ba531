using FnOperator.CrdGen;
using k8s.Models;

namespace FnOperator.Api.Tests;

/// <summary>Looks up generated CRDs and schema nodes by kind and dotted path ("spec.layers[]", "spec.routingConfig.additionalVersionWeights{}").</summary>
public static class Schemas
{
    private static readonly IReadOnlyList<V1CustomResourceDefinition> All = CrdBuilder.BuildAll();

    public static V1CustomResourceDefinition Crd(string kind) => All.Single(c => c.Spec.Names.Kind == kind);

    public static V1JSONSchemaProps Root(string kind) => Crd(kind).Spec.Versions.Single().Schema.OpenAPIV3Schema;

    public static V1JSONSchemaProps At(string kind, string path)
    {
        var node = Root(kind);
        foreach (var segment in path.Split('.'))
        {
            var name = segment.TrimEnd('[', ']', '{', '}');
            node = node.Properties?.TryGetValue(name, out var child) == true
                ? child
                : throw new KeyNotFoundException($"{kind}: no property {name} on the way to {path}");
            if (segment.EndsWith("[]", StringComparison.Ordinal))
            {
                node = (V1JSONSchemaProps)node.Items;
            }
            else if (segment.EndsWith("{}", StringComparison.Ordinal))
            {
                node = (V1JSONSchemaProps)node.AdditionalProperties;
            }
        }

        return node;
    }

    /// <summary>Every schema node under the root with its path, depth first.</summary>
    public static IEnumerable<(string Path, V1JSONSchemaProps Schema)> Walk(string kind)
    {
        var stack = new Stack<(string, V1JSONSchemaProps)>();
        stack.Push(("", Root(kind)));
        while (stack.Count > 0)
        {
            var (path, node) = stack.Pop();
            yield return (path, node);
            foreach (var (name, child) in node.Properties ?? new Dictionary<string, V1JSONSchemaProps>())
            {
                stack.Push((path.Length == 0 ? name : $"{path}.{name}", child));
            }

            if (node.Items is V1JSONSchemaProps items)
            {
                stack.Push((path + "[]", items));
            }

            if (node.AdditionalProperties is V1JSONSchemaProps values)
            {
                stack.Push((path + "{}", values));
            }
        }
    }
}
