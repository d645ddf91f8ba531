using FnOperator.Contracts;
using FnOperator.RuntimeShim;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>The shim's idle trim (issue #11): one aggressive GC once no invocation has been in flight for a while.</summary>
public sealed class IdleTrimTests
{
    [Fact]
    public void The_first_trim_runs_once_the_started_shim_stays_idle_for_the_idle_delay()
    {
        var time = new ManualTime();
        var collections = 0;
        using var trim = new IdleTrim(time, () => collections++);

        trim.Started();
        time.Advance(IdleTrim.IdleDelay - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, collections);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(1, collections);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(1, collections); // one per idle period: an idle shim does not wake up again
    }

    [Fact]
    public void No_trim_runs_while_an_invocation_is_in_flight_and_one_runs_after_it_finished()
    {
        var time = new ManualTime();
        var collections = 0;
        using var trim = new IdleTrim(time, () => collections++);
        trim.Started();

        trim.HandedOut();
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, collections);

        trim.Finished();
        time.Advance(IdleTrim.IdleDelay);
        Assert.Equal(1, collections);
    }

    [Fact]
    public void Work_arriving_within_the_idle_delay_postpones_the_trim_to_the_next_idle_period()
    {
        var time = new ManualTime();
        var collections = 0;
        using var trim = new IdleTrim(time, () => collections++);
        trim.Started();

        time.Advance(IdleTrim.IdleDelay / 2);
        trim.HandedOut();
        trim.Finished(); // re-armed: the idle delay counts from here
        time.Advance(IdleTrim.IdleDelay / 2);
        Assert.Equal(0, collections);

        time.Advance(IdleTrim.IdleDelay / 2);
        Assert.Equal(1, collections);
    }

    [Fact]
    public void Later_trims_are_at_least_the_minimum_spacing_apart()
    {
        var time = new ManualTime();
        var collections = 0;
        using var trim = new IdleTrim(time, () => collections++);
        trim.Started();
        time.Advance(IdleTrim.IdleDelay);
        Assert.Equal(1, collections);

        trim.HandedOut();
        trim.Finished();
        time.Advance(IdleTrim.MinSpacing - TimeSpan.FromSeconds(1)); // 30 s after the first trim, not 500 ms after this work
        Assert.Equal(1, collections);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, collections);
    }

    [Fact]
    public async Task The_wrapped_source_counts_hand_outs_and_completions_and_keeps_the_stream_sink()
    {
        var time = new ManualTime();
        var collections = 0;
        using var trim = new IdleTrim(time, () => collections++);
        var inner = new OneInvocationSource();
        var source = IdleTrim.Wrap(inner, trim);
        Assert.IsAssignableFrom<IResponseStreamSink>(source);
        Assert.IsNotAssignableFrom<IResponseStreamSink>(IdleTrim.Wrap(new PlainSource(), trim));
        trim.Started();

        var invocation = await source.NextAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, collections);
        Assert.True(await ((IResponseStreamSink)source).StreamAsync(invocation!, "text/plain", Stream.Null, CancellationToken.None));

        await source.CompleteAsync(invocation!, new InvocationResult { RequestId = invocation!.RequestId, Outcome = InvocationOutcome.Success, ExecutedVersion = "$LATEST", Payload = "{}"u8.ToArray() }, CancellationToken.None);
        time.Advance(IdleTrim.IdleDelay);
        Assert.Equal(1, collections);
        Assert.Equal(1, inner.Completed);
        Assert.Equal(1, inner.Streamed);
    }

    [Fact]
    public async Task A_completion_that_waits_for_the_next_invocation_does_not_hold_the_trim_back()
    {
        var time = new ManualTime();
        var collections = 0;
        using var trim = new IdleTrim(time, () => collections++);
        var inner = new HoldingSource();
        var source = IdleTrim.Wrap(inner, trim);
        trim.Started();
        var invocation = await source.NextAsync(CancellationToken.None);

        // As the pull source's result-then-next does: the completion returns only when the next invocation (or the
        // long poll's end) comes.
        var completing = source.CompleteAsync(invocation!, new InvocationResult { RequestId = invocation!.RequestId, Outcome = InvocationOutcome.Success, ExecutedVersion = "$LATEST", Payload = "{}"u8.ToArray() }, CancellationToken.None);
        time.Advance(IdleTrim.IdleDelay);

        Assert.False(completing.IsCompleted);
        Assert.Equal(1, collections);
        inner.Release.SetResult();
        await completing;
    }

    private sealed class HoldingSource : IInvocationSource
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<Invocation?> NextAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Invocation?>(new Invocation
        {
            RequestId = "r1", Namespace = "default", FunctionName = "f", Version = "$LATEST", InvokedFunctionArn = "arn",
            Type = InvocationType.RequestResponse, Payload = "{}"u8.ToArray(), AcceptedAt = DateTimeOffset.UtcNow, LeaseToken = "l",
        });

        public async ValueTask CompleteAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken) => await Release.Task;

        public ValueTask ReleaseAsync(Invocation invocation, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private sealed class OneInvocationSource : IInvocationSource, IResponseStreamSink
    {
        public int Completed { get; private set; }

        public int Streamed { get; private set; }

        public ValueTask<Invocation?> NextAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Invocation?>(new Invocation
        {
            RequestId = "r1", Namespace = "default", FunctionName = "f", Version = "$LATEST", InvokedFunctionArn = "arn",
            Type = InvocationType.RequestResponse, Payload = "{}"u8.ToArray(), AcceptedAt = DateTimeOffset.UtcNow, LeaseToken = "l",
        });

        public ValueTask CompleteAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken)
        {
            Completed++;
            return ValueTask.CompletedTask;
        }

        public ValueTask ReleaseAsync(Invocation invocation, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public Task<bool> StreamAsync(Invocation invocation, string contentType, Stream body, CancellationToken cancellationToken)
        {
            Streamed++;
            return Task.FromResult(true);
        }
    }

    private sealed class PlainSource : IInvocationSource
    {
        public ValueTask<Invocation?> NextAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Invocation?>(null);

        public ValueTask CompleteAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask ReleaseAsync(Invocation invocation, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    /// <summary>A clock the test advances; due one-shot timers fire synchronously inside <see cref="Advance"/>.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private readonly List<ManualTimer> _timers = [];
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new ManualTimer(this, callback, state);
            _timers.Add(timer);
            timer.Change(dueTime, period);
            return timer;
        }

        public void Advance(TimeSpan by)
        {
            var end = _now + by.Ticks;
            while (_timers.Where(t => t.Due is { } due && due <= end).OrderBy(t => t.Due).FirstOrDefault() is { } next)
            {
                _now = next.Due!.Value;
                next.Due = null;
                next.Fire();
            }

            _now = end;
        }

        private sealed class ManualTimer(ManualTime time, TimerCallback callback, object? state) : ITimer
        {
            public long? Due { get; set; }

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : time._now + dueTime.Ticks;
                return true;
            }

            public void Fire() => callback(state);

            public void Dispose() => Due = null;

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
