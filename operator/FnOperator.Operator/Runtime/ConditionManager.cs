using FnOperator.Api;
using k8s.Models;

namespace FnOperator.Operator.Runtime;

/// <summary>
/// Marks the conditions of one status during one reconcile. A condition keeps its lastTransitionTime while its status
/// holds, compared with the status the reconcile started from (a condition that flips and flips back within one
/// reconcile has not transitioned); each mark of a dependent condition derives Ready again. Observed-generation discipline: <see cref="BeginGeneration"/>
/// makes Ready Unknown when the object moved to a generation not yet reconciled, <see cref="ObserveGeneration"/>
/// records that this generation was reconciled.
/// </summary>
public sealed class ConditionManager(ConditionSet set, IConditionedStatus status, long? generation, DateTimeOffset now)
{
    private readonly Dictionary<string, V1Condition> started = (status.Conditions ?? []).DistinctBy(c => c.Type).ToDictionary(c => c.Type, c => c);

    public IConditionedStatus Status => status;

    public long? Generation => generation;

    public V1Condition? Get(string type) => status.Conditions?.FirstOrDefault(c => c.Type == type);

    public bool IsTrue(string type) => Get(type)?.Status == ConditionStatus.True;

    /// <summary>Ready is True and describes this generation.</summary>
    public bool IsReady => status.ObservedGeneration == generation && IsTrue(ConditionTypes.Ready);

    public void MarkTrue(string type, string reason, string message) => Mark(type, ConditionStatus.True, reason, message);

    public void MarkFalse(string type, string reason, string message) => Mark(type, ConditionStatus.False, reason, message);

    public void MarkUnknown(string type, string reason, string message) => Mark(type, ConditionStatus.Unknown, reason, message);

    /// <summary>
    /// Call first in a reconcile: a generation not reconciled yet makes Ready Unknown (until the phases say otherwise)
    /// and adds the dependent conditions no phase has set yet as Unknown.
    /// </summary>
    public void BeginGeneration()
    {
        foreach (var dependent in set.Dependents.Where(d => Get(d) is null))
        {
            Set(dependent, ConditionStatus.Unknown, ConditionReasons.NotReconciled, "Not reconciled yet.");
        }

        if (status.ObservedGeneration != generation)
        {
            Set(ConditionTypes.Ready, ConditionStatus.Unknown, ConditionReasons.NewGeneration, $"Reconciling generation {generation}.");
        }
    }

    /// <summary>Call when the reconcile of this generation is complete (converged or stopped by a problem).</summary>
    public void ObserveGeneration() => status.ObservedGeneration = generation;

    /// <summary>Marks the condition a <see cref="Problem"/> names: False, or Unknown for a transient one.</summary>
    public void Mark(Problem problem)
    {
        if (problem.Retry == RetryClass.Retry)
        {
            MarkUnknown(problem.Condition, problem.Reason, problem.Message);
        }
        else
        {
            MarkFalse(problem.Condition, problem.Reason, problem.Message);
        }
    }

    private void Mark(string type, string value, string reason, string message)
    {
        Set(type, value, reason, message);
        if (set.IsDependent(type))
        {
            DeriveReady(type);
        }
    }

    // Knative's rule: the condition just marked explains Ready when it decides it; otherwise the first dependent that does.
    private void DeriveReady(string marked)
    {
        var dependents = set.Dependents.Select(d => Get(d) ?? new V1Condition { Type = d, Status = ConditionStatus.Unknown, Reason = ConditionReasons.NotReconciled, Message = "Not reconciled yet." }).ToList();
        var value = dependents.Any(c => c.Status == ConditionStatus.False) ? ConditionStatus.False
            : dependents.Any(c => c.Status != ConditionStatus.True) ? ConditionStatus.Unknown
            : ConditionStatus.True;
        var cause = dependents.FirstOrDefault(c => c.Type == marked && c.Status == value) ?? dependents.First(c => c.Status == value);
        Set(ConditionTypes.Ready, value, cause.Reason, cause.Message);
    }

    // A new list each time, never the one the status came with: a reconciler may have built its status around a cached
    // object's list, and changing that in place would change the cache (and hide the change from StatusWriter's
    // "unchanged" check, which compares against the cached status).
    private void Set(string type, string value, string reason, string message)
    {
        var existing = started.GetValueOrDefault(type) is { } before && before.Status == value ? before : Get(type);
        var transition = existing is not null && existing.Status == value ? existing.LastTransitionTime : now.UtcDateTime;
        var conditions = (status.Conditions ?? []).Where(c => c.Type != type).ToList();
        conditions.Add(new V1Condition
        {
            Type = type,
            Status = value,
            Reason = reason,
            Message = message,
            ObservedGeneration = generation,
            LastTransitionTime = transition,
        });
        conditions.Sort((a, b) => set.Order(a.Type).CompareTo(set.Order(b.Type)));
        status.Conditions = conditions;
    }
}
