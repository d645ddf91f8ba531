namespace FnOperator.Kubernetes;

/// <summary>What a host needs of any informer, whatever its type: run it, and know when its cache is filled.</summary>
public interface IInformer
{
    string Kind { get; }

    bool HasSynced { get; }

    /// <summary>Completes when <see cref="HasSynced"/> becomes true (the first list is in the cache); never faults.</summary>
    Task Synced { get; }

    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The informer's metrics, implemented by the host's metrics class (one registry, prefix <c>fnoperator_</c>), so that
/// the library carries no metrics registry of its own.
/// </summary>
public interface IInformerMetrics
{
    /// <summary>A watch was started again: <paramref name="reason"/> is closed, expired or error.</summary>
    void WatchRestarted(string kind, string reason);
}
