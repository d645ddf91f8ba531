namespace FnOperator.Operator.Runtime;

/// <summary>Level-triggered reconcile of one object key. Exceptions count as <see cref="ReconcileResult.Retry"/>.</summary>
public interface IReconciler
{
    /// <summary>The kind reconciled, for metrics and logs.</summary>
    string Kind { get; }

    Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken);
}
