using FnOperator.Api;
using FnOperator.Operator.Runtime;
using k8s.Models;

namespace FnOperator.Operator;

/// <summary>
/// The Function's condition types and its condition set: Ready is derived from CodeReady (code and layers resolved) and
/// DeploymentReady (the $LATEST Deployment rolled out); Available (a pod is ready, False when scaled to zero) is reported
/// but does not make a Function unready.
/// </summary>
public static class FunctionConditions
{
    public const string Ready = ConditionTypes.Ready;
    public const string CodeReady = "CodeReady";
    public const string DeploymentReady = "DeploymentReady";
    public const string Available = "Available";

    public static ConditionSet Set { get; } = ConditionSet.Living(CodeReady, DeploymentReady).WithInformational(Available, FunctionUrlReasons.UrlReady);

    public static V1Condition? Condition(this FunctionStatus status, string type) =>
        status.Conditions?.FirstOrDefault(c => c.Type == type);

    /// <summary>Ready=True for the current generation.</summary>
    public static bool IsReady(this Function fn) =>
        fn.Status is { } status && status.ObservedGeneration == fn.Metadata.Generation
        && status.Condition(Ready)?.Status == ConditionStatus.True;
}
