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

    /// <summary>A failure retrying cannot fix (already recorded in status); the key waits for the next change.</summary>
    public static ReconcileResult Terminal(string message) => new(ReconcileOutcome.Terminal, null, message);
}

public enum ReconcileOutcome
{
    Done,
    RequeueAfter,
    Error,
    Terminal,
}
