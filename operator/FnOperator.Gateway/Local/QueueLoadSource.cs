using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Local;

/// <summary>The gateway's invocation queue as a pool's load source (local mode's autoscaler input).</summary>
public sealed class QueueLoadSource(IInvocationQueue queue) : IFunctionLoadSource
{
    public FunctionLoad GetLoad(string ns, string name)
    {
        var stats = queue.GetStats(new FunctionKey(ns, name));
        return new FunctionLoad(stats.Depth, stats.InFlight, stats.WaitingSync);
    }

    public async Task WaitForWorkAsync(string ns, string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var key = new FunctionKey(ns, name);
        if (queue.GetStats(key).Depth > 0)
        {
            // Work is already queued (perhaps a delayed retry): look again after the timeout rather than spin.
            await Task.Delay(timeout, cancellationToken).ConfigureAwait(false);
            return;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            await queue.WaitForWorkAsync(key, timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timed out: the pool re-evaluates on its tick.
        }
    }
}
