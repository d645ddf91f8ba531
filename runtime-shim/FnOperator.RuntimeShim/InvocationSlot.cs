using System.Threading.Channels;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>What the runtime posted for an invocation.</summary>
public enum ReplyKind
{
    Response,
    Error,
    TooLarge,
}

/// <summary>
/// A runtime's answer to one invocation: its body and, for errors, the Lambda-Runtime-Function-Error-Type header.
/// <paramref name="Streamed"/>: the response went to the caller as a stream (StreamingResponse); the body is then empty
/// (or the error document of the error trailers).
/// </summary>
public sealed record RuntimeReply(ReplyKind Kind, byte[] Body, string? ErrorTypeHeader = null, bool Streamed = false);

/// <summary>One invocation handed to the runtime; <see cref="Reply"/> completes when the runtime answers.</summary>
public sealed class ActiveInvocation(Invocation invocation, DateTimeOffset deadline)
{
    public Invocation Invocation { get; } = invocation;

    public DateTimeOffset Deadline { get; } = deadline;

    /// <summary>
    /// Completed once, outside the slot's lock, by the post that answered (<see cref="InvocationSlot.TryComplete"/>): its
    /// continuation (the runner: result, next lease) runs on the poster's thread, with no thread-pool hop (issue #19).
    /// </summary>
    public TaskCompletionSource<RuntimeReply> Reply { get; } = new();

    /// <summary>A post was accepted for it (its reply is set, or about to be by that post); guarded by the slot's lock.</summary>
    internal bool Answered { get; set; }

    /// <summary>Cancelled when the invocation ended for the shim (answered, timed out, crashed): a stream still open is cut.</summary>
    public CancellationToken Finished => _finished.Token;

    // Never disposed: it has no timer, and a late reader of Finished must not meet a disposed source.
    private readonly CancellationTokenSource _finished = new();
    private int _responding;

    internal void MarkFinished() => _finished.Cancel();

    /// <summary>Its dispatcher lane holds a claim on an idle `GET next` (concurrency; guarded by the slot's lock).</summary>
    internal bool Claimed { get; set; }

    /// <summary>Concurrency only: completes when the runtime answered after the shim gave up on the invocation (a timeout), or its runtime was replaced.</summary>
    public Task LateAnswer => _lateAnswer.Task;

    private readonly TaskCompletionSource _lateAnswer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal void MarkLateAnswer() => _lateAnswer.TrySetResult();

    /// <summary>True for the first response that starts (a streamed one takes the invocation before its result is known).</summary>
    internal bool TryBeginResponse() => Interlocked.Exchange(ref _responding, 1) == 0;
}

/// <summary>Result of a runtime posting to /response or /error.</summary>
public enum PostOutcome
{
    Accepted,

    /// <summary>The request id is not one this shim handed out (Lambda: 400 InvalidRequestID).</summary>
    UnknownRequestId,

    /// <summary>The invocation already has a result, or was abandoned after a timeout (Lambda: 403 InvalidStateTransition).</summary>
    AlreadyCompleted,
}

/// <summary>
/// The invocation slots between the shim's dispatcher and the runtime's Runtime API calls: one invocation at a time (the
/// default, Lambda's classic model) or up to <see cref="Capacity"/> at once (AWS_LAMBDA_MAX_CONCURRENCY, docs/concurrency.md).
/// The dispatcher puts an invocation in; `GET next` takes one out; `POST response|error` completes it exactly once, routed by
/// its request id.
/// </summary>
public sealed class InvocationSlot
{
    private const int RememberedIds = 64;
    // A waiting `GET next` continues inline in Dispatch (it only writes the response): no thread-pool hop per invocation.
    private readonly Channel<ActiveInvocation> _pending = Channel.CreateUnbounded<ActiveInvocation>(
        new UnboundedChannelOptions { AllowSynchronousContinuations = true });
    private readonly Queue<string> _finishedOrder = new();
    private readonly HashSet<string> _finished = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ActiveInvocation> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ActiveInvocation> _abandoned = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _idlePolls;
    private int _claimed;
    private TaskCompletionSource _pollArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public InvocationSlot()
        : this(1)
    {
    }

    public InvocationSlot(ShimOptions options)
        : this(options.MaxConcurrency)
    {
    }

    public InvocationSlot(int capacity) => Capacity = Math.Max(1, capacity);

    /// <summary>Invocations the runtime may hold at once.</summary>
    public int Capacity { get; }

    /// <summary>Invocations handed to the runtime (or waiting for its `GET next`) and not yet finished.</summary>
    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight.Count;
            }
        }
    }

    /// <summary>
    /// Hands an invocation to the runtime (delivered by its next `GET next`); <paramref name="claimed"/>: its lane holds a
    /// claim (<see cref="ClaimIdlePollAsync"/>), given back when the invocation is delivered or finished.
    /// </summary>
    public ActiveInvocation Dispatch(Invocation invocation, DateTimeOffset deadline, bool claimed = false)
    {
        var active = new ActiveInvocation(invocation, deadline) { Claimed = claimed };
        lock (_lock)
        {
            if (_inFlight.Count >= Capacity)
            {
                throw Capacity == 1
                    ? new InvalidOperationException($"Invocation {_inFlight.Values.First().Invocation.RequestId} is still in flight.")
                    : new InvalidOperationException($"{Capacity} invocations are already in flight.");
            }

            if (!_inFlight.TryAdd(invocation.RequestId, active))
            {
                throw new InvalidOperationException($"Invocation {invocation.RequestId} is already in flight.");
            }
        }

        if (!_pending.Writer.TryWrite(active))
        {
            throw new InvalidOperationException("The invocation slot is full.");
        }

        return active;
    }

    /// <summary>Waits for the next invocation for the runtime (the long poll behind `GET next`); finished ones are skipped.</summary>
    public async ValueTask<ActiveInvocation> NextAsync(CancellationToken cancellationToken)
    {
        if (Capacity == 1)
        {
            return await _pending.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }

        OnPoll(+1);
        var waiting = true;
        try
        {
            while (true)
            {
                var active = await _pending.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                lock (_lock)
                {
                    if (!active.Finished.IsCancellationRequested)
                    {
                        // The poll stops waiting and its claim ends in one step, so no other lane counts it as free.
                        _idlePolls--;
                        waiting = false;
                        ReturnClaimLocked(active);
                        return active;
                    }
                }
            }
        }
        finally
        {
            if (waiting)
            {
                OnPoll(-1);
            }
        }
    }

    private void ReturnClaimLocked(ActiveInvocation active)
    {
        if (active.Claimed)
        {
            active.Claimed = false;
            _claimed = Math.Max(0, _claimed - 1);
        }
    }

    /// <summary>
    /// Concurrency only: waits until the runtime has a `GET next` waiting that no other dispatcher lane has claimed, and claims
    /// it (the lane then leases one invocation for it). A runtime that polls one at a time (aws-lambda-ric) so gets one
    /// invocation at a time. Release the claim with <see cref="ReleaseClaim"/> once the lease came back or was given up.
    /// </summary>
    public async Task ClaimIdlePollAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task arrived;
            lock (_lock)
            {
                if (_idlePolls - _claimed > 0)
                {
                    _claimed++;
                    return;
                }

                arrived = _pollArrived.Task;
            }

            await arrived.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gives back a claim taken by <see cref="ClaimIdlePollAsync"/>.</summary>
    public void ReleaseClaim()
    {
        lock (_lock)
        {
            _claimed = Math.Max(0, _claimed - 1);
        }
    }

    private void OnPoll(int delta)
    {
        TaskCompletionSource? signal = null;
        lock (_lock)
        {
            _idlePolls += delta;
            if (delta > 0)
            {
                signal = _pollArrived;
                _pollArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        signal?.TrySetResult();
    }

    /// <summary>
    /// Records the runtime's answer; only the first answer for an in-flight request id counts. The answer is taken under
    /// the lock (so <see cref="Finish"/> sees it) and handed to the runner after it: the runner continues on this thread.
    /// </summary>
    public PostOutcome TryComplete(string requestId, RuntimeReply reply)
    {
        ActiveInvocation? active;
        lock (_lock)
        {
            if (!_inFlight.TryGetValue(requestId, out active))
            {
                if (_abandoned.Remove(requestId, out var late))
                {
                    late.MarkLateAnswer();
                }

                return _finished.Contains(requestId) ? PostOutcome.AlreadyCompleted : PostOutcome.UnknownRequestId;
            }

            if (active.Answered)
            {
                return PostOutcome.AlreadyCompleted;
            }

            active.Answered = true;
        }

        active.Reply.TrySetResult(reply);
        return PostOutcome.Accepted;
    }

    /// <summary>
    /// The in-flight invocation with this request id, taken by a streaming response before its result is known (a second
    /// response for it is refused as <see cref="PostOutcome.AlreadyCompleted"/>).
    /// </summary>
    public PostOutcome TryBeginResponse(string requestId, out ActiveInvocation? active)
    {
        lock (_lock)
        {
            active = _inFlight.GetValueOrDefault(requestId);
            if (active is null)
            {
                if (_abandoned.Remove(requestId, out var late))
                {
                    late.MarkLateAnswer();
                }

                return _finished.Contains(requestId) ? PostOutcome.AlreadyCompleted : PostOutcome.UnknownRequestId;
            }

            return !active.Answered && active.TryBeginResponse() ? PostOutcome.Accepted : PostOutcome.AlreadyCompleted;
        }
    }

    /// <summary>
    /// Ends an in-flight invocation (answered, timed out or crashed); later posts for it are refused. True when a post was
    /// accepted for it before (its <see cref="ActiveInvocation.Reply"/> is set or about to be: await it), which wins over a
    /// timeout or an exit; after this call no post can be accepted, so the answer is final. With <paramref name="abandoned"/>
    /// (concurrency: a timeout that left the runtime running it) and no answer, a later answer for it completes
    /// <see cref="ActiveInvocation.LateAnswer"/> (the runtime's lane is free again).
    /// </summary>
    public bool Finish(ActiveInvocation active, bool abandoned = false)
    {
        active.MarkFinished();
        lock (_lock)
        {
            var id = active.Invocation.RequestId;
            ReturnClaimLocked(active);
            if (_inFlight.TryGetValue(id, out var current) && ReferenceEquals(current, active))
            {
                _inFlight.Remove(id);
            }

            if (abandoned && !active.Answered && _abandoned.Count < RememberedIds)
            {
                _abandoned[id] = active;
            }

            if (_finished.Add(id))
            {
                _finishedOrder.Enqueue(id);
                if (_finishedOrder.Count > RememberedIds)
                {
                    _finished.Remove(_finishedOrder.Dequeue());
                }
            }

            // The runtime may have died before taking the invocation: never deliver it to the next runtime. (With concurrency
            // the others still pending stay; `GET next` skips finished ones.)
            if (_inFlight.Count == 0)
            {
                while (_pending.Reader.TryRead(out _))
                {
                }
            }

            return active.Answered;
        }
    }

    /// <summary>Stops waiting for a late answer to an abandoned invocation (its runtime is gone).</summary>
    public void Forget(ActiveInvocation active)
    {
        lock (_lock)
        {
            if (_abandoned.TryGetValue(active.Invocation.RequestId, out var current) && ReferenceEquals(current, active))
            {
                _abandoned.Remove(active.Invocation.RequestId);
            }
        }
    }
}
