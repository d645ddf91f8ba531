namespace FnOperator.Operator.Runtime;

/// <summary>One step of a reconcile over a kind's working state; null when it succeeded, else the problem that stops the reconcile.</summary>
public delegate Task<Problem?> Phase<in TState>(TState state, CancellationToken cancellationToken);

/// <summary>
/// Runs a reconcile's phases in order; the first problem is marked on its condition (and reported as a Warning Event
/// on the object) and decides the result through its retry class.
/// </summary>
public static class Phases
{
    /// <returns>Null when every phase succeeded, else the result the first problem maps to.</returns>
    public static async Task<ReconcileResult?> RunAsync<TState>(
        TState state, IReadOnlyList<Phase<TState>> phases, ConditionManager conditions, Action<Problem> report,
        TimeSpan dependencyRetry, CancellationToken cancellationToken)
    {
        foreach (var phase in phases)
        {
            if (await phase(state, cancellationToken).ConfigureAwait(false) is { } problem)
            {
                conditions.Mark(problem);
                report(problem);
                return problem.ToResult(dependencyRetry);
            }
        }

        return null;
    }
}
