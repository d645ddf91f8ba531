using FnOperator.Operator.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Hosting;

/// <summary>
/// Runs what is registered: every informer for the life of the process (on leaders and followers alike, so a new
/// leader starts with a warm cache and /readyz means "synced"), and every <see cref="ILeaderTask"/> (controllers,
/// per-object workers, leader services) only while this replica leads.
/// </summary>
public sealed partial class ControllerManager(
    IEnumerable<IInformer> informers, IEnumerable<ILeaderTask> leaderTasks, OperatorMetrics metrics,
    IOptions<OperatorOptions> options, ILogger<ControllerManager> logger)
{
    private readonly IReadOnlyList<IInformer> informers = [.. informers];
    private readonly IReadOnlyList<ILeaderTask> tasks = [.. leaderTasks];
    private volatile bool leading;

    public IReadOnlyList<IInformer> Informers => informers;

    public bool HasSynced => informers.All(i => i.HasSynced);

    public bool IsLeading => leading;

    /// <summary>Runs the informers until the process stops.</summary>
    public Task RunInformersAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(informers.Select(i => Task.Run(() => i.RunAsync(cancellationToken), CancellationToken.None)));

    /// <summary>Runs the leader tasks until <paramref name="cancellationToken"/> is cancelled (leadership lost or shutdown).</summary>
    public async Task LeadAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(informers.Select(i => i.Synced)).WaitAsync(cancellationToken).ConfigureAwait(false);

        leading = true;
        metrics.Leading(true);
        LogLeading(options.Value.PodName, tasks.Count);
        try
        {
            await Task.WhenAll(tasks.Select(t => Task.Run(() => t.RunAsync(cancellationToken), CancellationToken.None))).ConfigureAwait(false);
        }
        finally
        {
            leading = false;
            metrics.Leading(false);
            LogStoppedLeading(options.Value.PodName);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started leading identity={Identity} tasks={Tasks}")]
    private partial void LogLeading(string identity, int tasks);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped leading identity={Identity}")]
    private partial void LogStoppedLeading(string identity);
}
