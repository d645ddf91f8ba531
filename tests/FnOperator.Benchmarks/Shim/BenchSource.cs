using System.Diagnostics;
using System.Threading.Channels;
using FnOperator.Contracts;
using FnOperator.RuntimeShim;

namespace FnOperator.Benchmarks.Shim;

/// <summary>
/// An in-memory invocation source for one in-process shim (the shim benchmarks, node-runtime): <see cref="InvokeAsync"/>
/// queues an invocation of <paramref name="functionName"/> with <paramref name="payload"/> and completes with the
/// milliseconds from the shim's hand-out in NextAsync to its result.
/// </summary>
internal sealed class BenchSource(string functionName, byte[] payload) : IInvocationSource
{
    private readonly Channel<TaskCompletionSource<double>> _queue = Channel.CreateUnbounded<TaskCompletionSource<double>>();
    private readonly Dictionary<string, (TaskCompletionSource<double> Done, long HandedOut)> _inFlight = [];
    private readonly Lock _lock = new();

    /// <summary>Gives every invocation an X-Ray trace id in the gateway's shape (the node-runtime benchmark's FNOP_BENCH_NODE_TRACE).</summary>
    public bool TraceIds { get; init; }

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
            FunctionName = functionName,
            Version = "$LATEST",
            InvokedFunctionArn = $"arn:aws:lambda:us-east-1:000000000000:function:{functionName}",
            Type = InvocationType.RequestResponse,
            Payload = payload,
            AcceptedAt = DateTimeOffset.UtcNow,
            TraceId = TraceIds ? $"Root=1-{DateTimeOffset.UtcNow.ToUnixTimeSeconds():x8}-{Guid.NewGuid():N}"[..40] + ";Sampled=0" : null,
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
