using k8s;
using k8s.Models;

namespace FnOperator.Operator.Runtime;

/// <summary>Which updates of a watched object are worth a reconcile: called with the cached object before (null when new) and after.</summary>
public static class Predicates
{
    /// <summary>Every add and update.</summary>
    public static bool Any<T>(T? old, T current) => true;

    /// <summary>
    /// New objects, and updates of generation, deletionTimestamp, labels or annotations: status-only updates (our own
    /// writes) keep the generation and are skipped.
    /// </summary>
    public static bool GenerationOrMetadataChanged<T>(T? old, T current)
        where T : IKubernetesObject<V1ObjectMeta> =>
        old is null ||
        old.Metadata.Generation != current.Metadata.Generation ||
        old.Metadata.DeletionTimestamp != current.Metadata.DeletionTimestamp ||
        !SameMap(old.Metadata.Labels, current.Metadata.Labels) ||
        !SameMap(old.Metadata.Annotations, current.Metadata.Annotations);

    /// <summary>New objects and generation changes (spec edits) only.</summary>
    public static bool GenerationChanged<T>(T? old, T current)
        where T : IKubernetesObject<V1ObjectMeta> =>
        old is null || old.Metadata.Generation != current.Metadata.Generation;

    private static bool SameMap(IDictionary<string, string>? a, IDictionary<string, string>? b) =>
        (a is null || a.Count == 0)
            ? (b is null || b.Count == 0)
            : b is not null && a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v == p.Value);
}
