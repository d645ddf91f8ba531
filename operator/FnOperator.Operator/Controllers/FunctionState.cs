using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s.Models;

namespace FnOperator.Operator.Controllers;

/// <summary>What one Function reconcile has found so far; each phase reads what earlier phases resolved.</summary>
public sealed class FunctionState(Function fn, FunctionStatus status, ConditionManager conditions)
{
    private ResolvedCode? code;
    private V1Deployment? deployment;

    public Function Function => fn;

    public FunctionStatus Status => status;

    public ConditionManager Conditions => conditions;

    /// <summary>Set by the code phase.</summary>
    public ResolvedCode Code
    {
        get => code ?? throw new InvalidOperationException("The code phase has not run.");
        set => code = value;
    }

    /// <summary>Set by the code phase for ConfigMap code: the ConfigMap as read (its data is what a published version copies).</summary>
    public V1ConfigMap? CodeConfigMap { get; set; }

    /// <summary>Set by the layer phase.</summary>
    public IReadOnlyList<ResolvedLayer> Layers { get; set; } = [];

    /// <summary>Set by the publish phase: the published versions that exist, oldest first.</summary>
    public IReadOnlyList<VersionSnapshot> Versions { get; set; } = [];

    /// <summary>
    /// Set by the publish phase when a due version could not be published (an image tag not resolved to a digest):
    /// reported after the other phases ran, so $LATEST and the existing versions are still deployed.
    /// </summary>
    public Problem? PublishProblem { get; set; }

    /// <summary>Set by the Deployment phase: the live Deployment after apply.</summary>
    public V1Deployment Deployment
    {
        get => deployment ?? throw new InvalidOperationException("The Deployment phase has not run.");
        set => deployment = value;
    }
}
