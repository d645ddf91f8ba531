using k8s.Models;

namespace FnOperator.Api;

/// <summary>
/// The part of a status every fnoperator.io kind shares: its conditions and the generation they describe. The
/// operator's condition sets and status writer work on any status that has them.
/// </summary>
public interface IConditionedStatus
{
    List<V1Condition>? Conditions { get; set; }

    long? ObservedGeneration { get; set; }
}
