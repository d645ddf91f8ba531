using FnOperator.Contracts;

namespace FnOperator.Gateway.Queue;

/// <summary>Per-function state of <see cref="InMemoryInvocationQueue"/>: one lane per version, and the lease count.</summary>
internal sealed class FunctionState
{
    public Dictionary<string, Lane> Lanes { get; } = new(StringComparer.Ordinal);

    /// <summary>Entries of the function leased to workers: the sum of its lanes' counts (lanes are never removed).</summary>
    public int Leased
    {
        get
        {
            var leased = 0;
            foreach (var lane in Lanes.Values)
            {
                leased += lane.Leased;
            }

            return leased;
        }
    }

    public int? Limit { get; set; }

    public Lane Lane(string version)
    {
        if (!Lanes.TryGetValue(version, out var lane))
        {
            lane = new Lane();
            Lanes[version] = lane;
        }

        return lane;
    }
}

/// <summary>One function version's queue: ready entries, delayed retries and waiting workers.</summary>
internal sealed class Lane
{
    public LinkedList<QueueEntry> Ready { get; } = new();

    public List<QueueEntry> Delayed { get; } = new();

    public LinkedList<TaskCompletionSource<Invocation?>> Waiters { get; } = new();

    /// <summary>Entries of this version leased to workers (<see cref="FunctionState.Leased"/> sums them).</summary>
    public int Leased { get; set; }

    /// <summary>Leases handed out since the lane began (only grows; <see cref="IInvocationQueue.HandOuts"/>).</summary>
    public long HandOuts { get; set; }

    /// <summary>Ready sync entries no worker has started.</summary>
    public int WaitingSync()
    {
        var waiting = 0;
        for (var node = Ready.First; node is not null; node = node.Next)
        {
            if (node.Value.Sync && !node.Value.Started.IsCompleted)
            {
                waiting++;
            }
        }

        return waiting;
    }
}
