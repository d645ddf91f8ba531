using FnOperator.Contracts;

namespace FnOperator.Gateway.Queue;

/// <summary>One invocation held by <see cref="InMemoryInvocationQueue"/>, with its lease and, for sync calls, its waiter.</summary>
internal sealed class QueueEntry(Invocation invocation, EnqueueOptions options, bool sync) : ISyncInvocation
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Continuations run where the result is set: the queue sets it outside its lock, so a caller waiting in this process
    // is answered on the completing worker's thread with no thread-pool hop (issue #19).
    private readonly TaskCompletionSource<InvocationResult> _result = new();

    public Invocation Invocation { get; } = invocation;

    public EnqueueOptions Options { get; } = options;

    public bool Sync { get; } = sync;

    /// <summary>Not handed out before this time (delayed retries).</summary>
    public DateTimeOffset DueAt { get; set; }

    /// <summary>Set while leased: the current lease's token (<see cref="Invocation.LeaseToken"/>).</summary>
    public string? LeaseToken { get; set; }

    /// <summary>Set while leased: when the lease expires.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; set; }

    /// <summary>Set when the caller withdrew a sync invocation or the entry was completed.</summary>
    public bool Finished { get; set; }

    /// <summary>Called by the owning queue to withdraw the entry; set by the queue after creation.</summary>
    public Func<QueueEntry, bool>? Withdraw { get; set; }

    public Task Started => _started.Task;

    private volatile TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _running;

    public int Deliveries { get; set; }

    public bool Running => _running;

    public Task Changed => _changed.Task;

    /// <summary>Called by the queue (under its lock) when a worker takes or loses the lease.</summary>
    public void SetRunning(bool running)
    {
        _running = running;
        var old = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }

    /// <summary>
    /// Called by the queue (under its lock) when the entry is finished: no longer running, without a <see cref="Changed"/>
    /// signal (the result, set right after the lock, wakes the caller; a signal here woke a thread-pool worker for nothing).
    /// </summary>
    public void EndRunning() => _running = false;

    public Task<InvocationResult> Result => _result.Task;

    public bool TryWithdraw() => Withdraw?.Invoke(this) ?? false;

    public void MarkStarted() => _started.TrySetResult();

    /// <summary>Answers the caller; its continuation may run on this thread: never call it under the queue's lock.</summary>
    public void SetResult(InvocationResult result) => _result.TrySetResult(result);

    /// <summary>Withdraws the caller's wait; as <see cref="SetResult"/>, never under the queue's lock.</summary>
    public void Cancel() => _result.TrySetCanceled();
}
