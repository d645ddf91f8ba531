using FnOperator.Contracts;

namespace FnOperator.Gateway.Queue.JetStream;

/// <summary>
/// The caller's side of a sync invocation on JetStream, held by the replica the caller is connected to. Its state
/// follows the events other replicas send to this replica's reply subject (started, result, lost, requeued).
/// </summary>
internal sealed class SyncHandle(Invocation invocation, ulong sequence, Func<SyncHandle, bool> withdraw) : ISyncInvocation
{
    private readonly object _gate = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<InvocationResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _running;
    private int _leftWaiting;
    private int _deliveries;

    public Invocation Invocation { get; } = invocation;

    /// <summary>The stream sequence of the message (changes when a release re-publishes it).</summary>
    public ulong Sequence { get; private set; } = sequence;

    public Task Started => _started.Task;

    public Task<InvocationResult> Result => _result.Task;

    public bool Running
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    public Task Changed
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    public int Deliveries
    {
        get
        {
            lock (_gate)
            {
                return _deliveries;
            }
        }
    }

    public bool TryWithdraw() => withdraw(this);

    /// <summary>True the first time only: the caller stops counting as waiting for a worker (started, answered or withdrawn).</summary>
    public bool TryLeaveWaiting() => Interlocked.Exchange(ref _leftWaiting, 1) == 0;

    public void OnStarted()
    {
        Update(running: true, delivered: true);
        _started.TrySetResult();
    }

    /// <summary>The sequence the PubAck gave; a worker may already have started it (its event can beat the PubAck).</summary>
    public void SetSequence(ulong sequence)
    {
        lock (_gate)
        {
            Sequence = sequence;
        }
    }

    public void OnRequeued(ulong sequence)
    {
        lock (_gate)
        {
            Sequence = sequence;
        }

        Update(running: false, delivered: false);
    }

    public void OnResult(InvocationResult result)
    {
        _result.TrySetResult(result);
        Update(running: false, delivered: false);
    }

    public void Cancel() => _result.TrySetCanceled();

    private void Update(bool running, bool delivered)
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            _running = running;
            _deliveries += delivered ? 1 : 0;
            old = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        old.TrySetResult();
    }
}
