using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>
/// Gives the memory of the shim's start-up (and of a burst of invocations) back to the OS once the shim is idle: the start
/// allocates ~7 MB that no GC has collected yet (the gen0 budget is larger), which stayed resident for good. When no
/// invocation has been in flight for <see cref="IdleDelay"/>, one aggressive full GC (<see cref="GCCollectionMode.Aggressive"/>:
/// compacts and decommits what is free) runs on a thread-pool thread; ~1–3 ms of CPU. At most one per idle period and,
/// after the first, at most one per <see cref="MinSpacing"/>; nothing runs while the shim is idle beyond that single
/// one-shot timer (issue #19: an idle instance costs no CPU). Issue #11, docs/runtime-shim.md.
/// </summary>
public sealed class IdleTrim : IDisposable
{
    public static readonly TimeSpan IdleDelay = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MinSpacing = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time;
    private readonly Action _collect;
    private readonly ITimer _timer;
    private readonly object _gate = new();
    private int _inFlight;
    private long _activity; // bumped at every hand-out and completion: a timer armed before it is stale
    private long _armedAt;
    private long _lastTrim = long.MinValue;
    private int _trims;

    public IdleTrim(TimeProvider? time = null, Action? collect = null)
    {
        _time = time ?? TimeProvider.System;
        _collect = collect ?? (() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true));
        _timer = _time.CreateTimer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How many trims ran.</summary>
    public int Trims => Volatile.Read(ref _trims);

    /// <summary>The shim started (no invocation yet): arms the first trim.</summary>
    public void Started()
    {
        lock (_gate)
        {
            Arm();
        }
    }

    public void HandedOut()
    {
        lock (_gate)
        {
            _inFlight++;
            _activity++;
        }
    }

    public void Finished()
    {
        lock (_gate)
        {
            _inFlight = Math.Max(0, _inFlight - 1);
            _activity++;
            if (_inFlight == 0)
            {
                Arm();
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Arm()
    {
        var delay = IdleDelay;
        if (_lastTrim != long.MinValue)
        {
            var sinceLast = _time.GetElapsedTime(_lastTrim);
            if (sinceLast < MinSpacing - IdleDelay)
            {
                delay = MinSpacing - sinceLast;
            }
        }

        _armedAt = _activity;
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        lock (_gate)
        {
            if (_inFlight > 0 || _armedAt != _activity)
            {
                return; // work arrived since the timer was armed; the next completion re-arms it
            }

            _lastTrim = _time.GetTimestamp();
        }

        _collect();
        Interlocked.Increment(ref _trims);
    }

    /// <summary>The invocation source seen through the trim: hand-outs and completions mark activity.</summary>
    public static IInvocationSource Wrap(IInvocationSource inner, IdleTrim trim) =>
        inner is IResponseStreamSink ? new StreamingSource(inner, trim) : new Source(inner, trim);

    private class Source(IInvocationSource inner, IdleTrim trim) : IInvocationSource
    {
        protected IInvocationSource Inner => inner;

        public async ValueTask<Invocation?> NextAsync(CancellationToken cancellationToken)
        {
            var invocation = await inner.NextAsync(cancellationToken).ConfigureAwait(false);
            if (invocation is not null)
            {
                trim.HandedOut();
            }

            return invocation;
        }

        /// <summary>
        /// The runtime's work ended when it answered: marked before the post, because the pull source's completion is also
        /// its long poll for the next invocation (result-then-next, up to 20 s) and the trim must not wait for that.
        /// </summary>
        public ValueTask CompleteAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken)
        {
            trim.Finished();
            return inner.CompleteAsync(invocation, result, cancellationToken);
        }

        public async ValueTask ReleaseAsync(Invocation invocation, CancellationToken cancellationToken)
        {
            try
            {
                await inner.ReleaseAsync(invocation, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                trim.Finished();
            }
        }
    }

    private sealed class StreamingSource(IInvocationSource inner, IdleTrim trim) : Source(inner, trim), IResponseStreamSink
    {
        public Task<bool> StreamAsync(Invocation invocation, string contentType, Stream body, CancellationToken cancellationToken) =>
            ((IResponseStreamSink)Inner).StreamAsync(invocation, contentType, body, cancellationToken);
    }
}
