using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Local;

/// <summary>
/// One version's share of the invocation queue as a pool's load source: the pool of version N (or of $LATEST) scales on
/// that version's queued, in-flight and waiting invocations only, so invoking one version never starts instances of
/// another. Its wait ends when work arrives for the function (any version: the pool then looks at its own lane) or after the timeout.
/// Work a waiting instance took at once does not end it (the queue raises no WorkArrived for it); the pool sees it in
/// <see cref="FunctionLoad.HandOuts"/> at its next look.
/// </summary>
public sealed class VersionLoadSource(IInvocationQueue queue, string version) : IFunctionLoadSource
{
    public string Version => version;

    public FunctionLoad GetLoad(string ns, string name)
    {
        var key = new FunctionKey(ns, name);
        var handOuts = queue.HandOuts(key, version);
        return queue.GetVersionStats(key).TryGetValue(version, out var stats)
            ? new FunctionLoad(stats.Depth, stats.InFlight, stats.WaitingSync, handOuts)
            : new FunctionLoad(0, 0, 0, handOuts);
    }

    public async Task WaitForWorkAsync(string ns, string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var key = new FunctionKey(ns, name);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnArrived(FunctionKey k)
        {
            if (k == key)
            {
                arrived.TrySetResult();
            }
        }

        queue.WorkArrived += OnArrived;
        try
        {
            // Work of this version already queued (perhaps a delayed retry): look again after the timeout rather than spin.
            var wait = GetLoad(ns, name).Queued > 0 ? Task.Delay(timeout, cancellationToken) : arrived.Task.WaitAsync(timeout, cancellationToken);
            await wait.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Timed out: the pool re-evaluates on its tick.
        }
        finally
        {
            queue.WorkArrived -= OnArrived;
        }
    }
}
