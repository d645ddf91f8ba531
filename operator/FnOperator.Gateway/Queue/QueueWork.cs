using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Queue;

/// <summary>Waiting for work, shared by every <see cref="IInvocationQueue"/>: built on its WorkArrived signal and depth.</summary>
public static class QueueWork
{
    /// <summary>Returns once the function has queued work (at once when it has some already), or throws when cancelled.</summary>
    public static async Task WaitAsync(IInvocationQueue queue, FunctionKey key, CancellationToken cancellationToken)
    {
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
            if (queue.GetStats(key).Depth > 0)
            {
                return;
            }

            await arrived.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            queue.WorkArrived -= OnArrived;
        }
    }
}
