using System.Collections.Concurrent;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Async;

/// <summary>
/// Named in-memory destination queues (OnSuccess/OnFailure "queue" destinations and the per-function dead-letter queue
/// <c>{namespace}.{name}.dlq</c>), read over HTTP with receive-and-delete. Bounded: beyond the capacity the oldest
/// message is dropped and counted. Per replica and lost on restart; the in-memory invocation queue's companion.
/// </summary>
public sealed class DestinationQueues(int capacity) : IDestinationQueues
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<byte[]>> _queues = new(StringComparer.Ordinal);
    private long _dropped;

    public long Dropped => Interlocked.Read(ref _dropped);

    public static string DeadLetterQueueName(FunctionKey key) => $"{key.Namespace}.{key.Name}.dlq";

    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 253 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');

    public void Publish(string name, byte[] message)
    {
        var queue = _queues.GetOrAdd(name, _ => new ConcurrentQueue<byte[]>());
        queue.Enqueue(message);
        while (queue.Count > capacity && queue.TryDequeue(out _))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    public ValueTask PublishAsync(string name, string messageId, byte[] message, CancellationToken cancellationToken)
    {
        Publish(name, message);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<byte[]>> ReceiveAsync(string name, int max, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Receive(name, max));

    public ValueTask<IReadOnlyDictionary<string, long>> DepthsAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyDictionary<string, long>>(Depths().ToDictionary(q => q.Key, q => (long)q.Value, StringComparer.Ordinal));

    /// <summary>Removes and returns up to <paramref name="max"/> messages, oldest first.</summary>
    public IReadOnlyList<byte[]> Receive(string name, int max)
    {
        var messages = new List<byte[]>();
        if (_queues.TryGetValue(name, out var queue))
        {
            while (messages.Count < max && queue.TryDequeue(out var message))
            {
                messages.Add(message);
            }
        }

        return messages;
    }

    public IReadOnlyDictionary<string, int> Depths() =>
        _queues.OrderBy(q => q.Key, StringComparer.Ordinal).ToDictionary(q => q.Key, q => q.Value.Count, StringComparer.Ordinal);
}
