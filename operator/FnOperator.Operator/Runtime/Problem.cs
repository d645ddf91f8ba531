namespace FnOperator.Operator.Runtime;

/// <summary>What retrying a failed phase can achieve, and so what the controller does with the key.</summary>
public enum RetryClass
{
    /// <summary>Only a change of the object can fix it (invalid spec): no retry until the next change.</summary>
    Terminal,

    /// <summary>Waits for another object (a missing ConfigMap or Layer): looked at again after a slow requeue, or when a watch fires.</summary>
    AfterDependency,

    /// <summary>Transient (an API error): retried with the key's exponential backoff.</summary>
    Retry,
}

/// <summary>
/// Why a reconcile phase stopped: the condition it marks (False, or Unknown for <see cref="RetryClass.Retry"/>), a
/// constant reason, a message for the user, and the retry class. Phases return null when they succeeded.
/// </summary>
public sealed record Problem(string Condition, string Reason, string Message, RetryClass Retry)
{
    public static Problem Terminal(string condition, string reason, string message) => new(condition, reason, message, RetryClass.Terminal);

    public static Problem AfterDependency(string condition, string reason, string message) => new(condition, reason, message, RetryClass.AfterDependency);

    public static Problem Transient(string condition, string reason, string message) => new(condition, reason, message, RetryClass.Retry);

    /// <summary>The controller's next step for this problem.</summary>
    public ReconcileResult ToResult(TimeSpan dependencyRetry) => Retry switch
    {
        RetryClass.Terminal => ReconcileResult.Terminal(Message),
        RetryClass.AfterDependency => ReconcileResult.After(dependencyRetry),
        _ => ReconcileResult.Retry(Message),
    };
}
