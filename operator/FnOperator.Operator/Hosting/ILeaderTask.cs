namespace FnOperator.Operator.Hosting;

/// <summary>
/// Work the manager runs only while this replica holds the leader Lease: registered controllers, per-object workers and
/// leader-only services. <see cref="RunAsync"/> is cancelled when the lease is lost or the process stops.
/// </summary>
public interface ILeaderTask
{
    string Name { get; }

    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>A long-running leader-only service (one per process, e.g. the autoscaler), registered with <c>AddLeaderService</c>.</summary>
public interface ILeaderService
{
    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Long-running work about one object (e.g. an EventSourceMapping's poller), registered with <c>AddLeaderWorker</c>:
/// started for each object while this replica leads, restarted with the new object when it changes, cancelled when
/// it is deleted or the lease is lost. Returning ends the work until the object changes; throwing restarts it with backoff.
/// </summary>
public interface IObjectWorker<in TKind>
{
    Task RunAsync(TKind obj, CancellationToken cancellationToken);
}
