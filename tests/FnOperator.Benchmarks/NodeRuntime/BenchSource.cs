using System.Diagnostics;
using System.Threading.Channels;
using FnOperator.Contracts;
using FnOperator.RuntimeShim;

namespace FnOperator.Benchmarks.NodeRuntime;

/// <summary>
/// An in-memory invocation source for one in-process shim: <see cref="InvokeAsync"/> queues an invocation (the data-plane
/// benchmark's payload) and completes with the milliseconds from the shim's hand-out in NextAsync to its result.
/// </summary>
internal sealed class BenchSource : IInvocationSource
{
    private static readonly byte[] Payload = """{"hello":"world","n":1}"""u8.ToArray();
    private readonly Channel<TaskCompletionSource<double>> _queue = Channel.CreateUnbounded<TaskCompletionSource<double>>();
    private readonly Dictionary<string, (TaskCompletionSource<double> Done, long HandedOut)> _inFlight = [];
    private readonly Lock _lock = new();

    public Task<double> InvokeAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Writer.TryWrite(done);
        return done.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask<Invocation?> NextAsync(CancellationToken cancellationToken)
    {
        var done = await _queue.Reader.ReadAsync(cancellationToken);
        var invocation = new Invocation
        {
            RequestId = Guid.NewGuid().ToString(),
            Namespace = "default",
            FunctionName = "bench-noop",
            Version = "$LATEST",
            InvokedFunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:bench-noop",
            Type = InvocationType.RequestResponse,
            Payload = Payload,
            AcceptedAt = DateTimeOffset.UtcNow,
        };
        lock (_lock)
        {
            _inFlight[invocation.RequestId] = (done, Stopwatch.GetTimestamp());
        }

        return invocation;
    }

    public ValueTask CompleteAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        (TaskCompletionSource<double> Done, long HandedOut) entry;
        lock (_lock)
        {
            _inFlight.Remove(invocation.RequestId, out entry);
        }

        if (entry.Done is null)
        {
            return ValueTask.CompletedTask;
        }

        if (result.Outcome != InvocationOutcome.Success)
        {
            entry.Done.TrySetException(new InvalidOperationException($"Benchmark invocation failed: {result.ErrorType}"));
        }
        else
        {
            entry.Done.TrySetResult(Stopwatch.GetElapsedTime(entry.HandedOut, now).TotalMilliseconds);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask ReleaseAsync(Invocation invocation, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
