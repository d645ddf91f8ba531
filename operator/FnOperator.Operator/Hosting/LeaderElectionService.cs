using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Hosting;

/// <summary>
/// Holds the "fn-operator-leader" Lease with KubernetesClient's LeaderElector; the controllers run only while this
/// replica leads, and losing the lease cancels them. After losing it, the replica competes again.
/// </summary>
public sealed partial class LeaderElectionService(
    IKubernetes client, ControllerManager manager, IOptions<OperatorOptions> optionsAccessor, TimeProvider time,
    ILogger<LeaderElectionService> logger) : BackgroundService
{
    private readonly OperatorOptions options = optionsAccessor.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var leaseLock = new LeaseLock(client, options.PodNamespace, options.LeaseName, options.PodName);
        var config = new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = options.LeaseDuration,
            RenewDeadline = options.RenewDeadline,
            RetryPeriod = options.RetryPeriod,
        };

        while (!stoppingToken.IsCancellationRequested)
        {
            using var elector = new LeaderElector(config);
            using var leading = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            Task? controllers = null;
            elector.OnStartedLeading += () => controllers = Task.Run(() => manager.LeadAsync(leading.Token), CancellationToken.None);
            elector.OnStoppedLeading += () => leading.Cancel();
            elector.OnNewLeader += leader => LogNewLeader(leader, options.PodName);
            elector.OnError += e => LogElectionError(e);
            try
            {
                await elector.RunUntilLeadershipLostAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                LogElectionError(e);
            }

            await leading.CancelAsync().ConfigureAwait(false);
            if (controllers is not null)
            {
                await controllers.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
                if (stoppingToken.IsCancellationRequested)
                {
                    await ReleaseAsync(leaseLock).ConfigureAwait(false); // controllers have stopped: hand over at once
                }
            }

            if (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(options.RetryPeriod, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
    }

    // On shutdown, as client-go's ReleaseOnCancel: an empty holder lets another replica take the Lease without waiting
    // for it to expire. Best effort: if it fails, the Lease simply expires.
    private async Task ReleaseAsync(LeaseLock leaseLock)
    {
        using var timeout = new CancellationTokenSource(options.RenewDeadline);
        try
        {
            var record = await leaseLock.GetAsync(timeout.Token).ConfigureAwait(false);
            if (record.HolderIdentity != options.PodName)
            {
                return;
            }

            var now = time.GetUtcNow().UtcDateTime;
            await leaseLock.UpdateAsync(new LeaderElectionRecord
            {
                HolderIdentity = "",
                LeaseDurationSeconds = 1,
                AcquireTime = now,
                RenewTime = now,
                LeaderTransitions = record.LeaderTransitions,
            }, timeout.Token).ConfigureAwait(false);
            LogReleased(options.LeaseName, options.PodName);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogReleaseFailed(e, options.LeaseName);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Released Lease name={Lease} identity={Identity}")]
    private partial void LogReleased(string lease, string identity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to release Lease name={Lease}; it expires instead")]
    private partial void LogReleaseFailed(Exception exception, string lease);

    [LoggerMessage(Level = LogLevel.Information, Message = "Observed new leader leader={Leader} identity={Identity}")]
    private partial void LogNewLeader(string leader, string identity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed leader election step")]
    private partial void LogElectionError(Exception exception);
}
