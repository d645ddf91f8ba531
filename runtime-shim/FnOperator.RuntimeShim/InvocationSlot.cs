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

    public TaskCompletionSource<RuntimeReply> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Cancelled when the invocation ended for the shim (answered, timed out, crashed): a stream still open is cut.</summary>
    public CancellationToken Finished => _finished.Token;

    // Never disposed: it has no timer, and a late reader of Finished must not meet a disposed source.
    private readonly CancellationTokenSource _finished = new();
    private int _responding;

    internal void MarkFinished() => _finished.Cancel();

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
/// The single invocation slot between the shim's dispatcher and the runtime's Runtime API calls: one invocation at a time.
/// The dispatcher puts an invocation in; `GET next` takes it out; `POST response|error` completes it exactly once.
/// </summary>
public sealed class InvocationSlot
{
    private const int RememberedIds = 64;
    private readonly Channel<ActiveInvocation> _pending = Channel.CreateBounded<ActiveInvocation>(1);
    private readonly Queue<string> _finishedOrder = new();
    private readonly HashSet<string> _finished = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private ActiveInvocation? _current;

    /// <summary>Hands an invocation to the runtime (delivered by its next `GET next`).</summary>
    public ActiveInvocation Dispatch(Invocation invocation, DateTimeOffset deadline)
    {
        var active = new ActiveInvocation(invocation, deadline);
        lock (_lock)
        {
            if (_current is not null)
            {
                throw new InvalidOperationException($"Invocation {_current.Invocation.RequestId} is still in flight.");
            }

            _current = active;
        }

        if (!_pending.Writer.TryWrite(active))
        {
            throw new InvalidOperationException("The invocation slot is full.");
        }

        return active;
    }

    /// <summary>Waits for the next invocation for the runtime (the long poll behind `GET next`).</summary>
    public ValueTask<ActiveInvocation> NextAsync(CancellationToken cancellationToken) => _pending.Reader.ReadAsync(cancellationToken);

    /// <summary>Records the runtime's answer; only the first answer for the in-flight request id counts.</summary>
    public PostOutcome TryComplete(string requestId, RuntimeReply reply)
    {
        lock (_lock)
        {
            if (_current is null || _current.Invocation.RequestId != requestId)
            {
                return _finished.Contains(requestId) ? PostOutcome.AlreadyCompleted : PostOutcome.UnknownRequestId;
            }

            return _current.Reply.TrySetResult(reply) ? PostOutcome.Accepted : PostOutcome.AlreadyCompleted;
        }
    }

    /// <summary>
    /// The in-flight invocation with this request id, taken by a streaming response before its result is known (a second
    /// response for it is refused as <see cref="PostOutcome.AlreadyCompleted"/>).
    /// </summary>
    public PostOutcome TryBeginResponse(string requestId, out ActiveInvocation? active)
    {
        lock (_lock)
        {
            active = _current is not null && _current.Invocation.RequestId == requestId ? _current : null;
            if (active is null)
            {
                return _finished.Contains(requestId) ? PostOutcome.AlreadyCompleted : PostOutcome.UnknownRequestId;
            }

            return !active.Reply.Task.IsCompleted && active.TryBeginResponse() ? PostOutcome.Accepted : PostOutcome.AlreadyCompleted;
        }
    }

    /// <summary>Ends the in-flight invocation (answered, timed out or crashed); later posts for it are refused.</summary>
    public void Finish(ActiveInvocation active)
    {
        active.MarkFinished();
        lock (_lock)
        {
            if (ReferenceEquals(_current, active))
            {
                _current = null;
            }

            if (_finished.Add(active.Invocation.RequestId))
            {
                _finishedOrder.Enqueue(active.Invocation.RequestId);
                if (_finishedOrder.Count > RememberedIds)
                {
                    _finished.Remove(_finishedOrder.Dequeue());
                }
            }

            // The runtime may have died before taking the invocation: never deliver it to the next runtime.
            while (_pending.Reader.TryRead(out _))
            {
            }
        }
    }
}
