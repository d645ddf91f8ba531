namespace FnOperator.Operator.Runtime;

/// <summary>How a reconcile ended, and so what the controller does with the key next.</summary>
public sealed record ReconcileResult
{
    private ReconcileResult(ReconcileOutcome outcome, TimeSpan? requeueAfter, string? message)
    {
        Outcome = outcome;
        RequeueAfter = requeueAfter;
        Message = message;
    }

    public ReconcileOutcome Outcome { get; }

    public TimeSpan? RequeueAfter { get; }

    public string? Message { get; }

    /// <summary>Converged; the key comes back only when a watched object changes.</summary>
    public static ReconcileResult Done { get; } = new(ReconcileOutcome.Done, null, null);

    /// <summary>Converged for now; look again after <paramref name="delay"/> (the backoff is reset).</summary>
    public static ReconcileResult After(TimeSpan delay) => new(ReconcileOutcome.RequeueAfter, delay, null);

    /// <summary>A transient failure: retried with the key's exponential backoff.</summary>
    public static ReconcileResult Retry(string message) => new(ReconcileOutcome.Error, null, message);

    /// <summary>
    /// Started from an object the API has moved past (its status was written meanwhile, often by this operator's own
    /// last reconcile that the cache has not shown yet): nothing was written; run again with the key's backoff, from the
    /// newer object. Not an error (counted as result="conflict", logged at Debug).
    /// </summary>
    public static ReconcileResult Conflict(string message) => new(ReconcileOutcome.Conflict, null, message);

    /// <summary>A failure retrying cannot fix (already recorded in status); the key waits for the next change.</summary>
    public static ReconcileResult Terminal(string message) => new(ReconcileOutcome.Terminal, null, message);
}

public enum ReconcileOutcome
{
    Done,
    RequeueAfter,
    Error,
    Terminal,
    Conflict,
}
