using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Contracts.Scaling;
using FnOperator.Kubernetes;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Resources;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Autoscaling;

/// <summary>
/// The cluster autoscaler, leader-only (one <see cref="ILeaderService"/>): every poll it reads each version's load from
/// the gateway, decides with the shared <see cref="ScalingPolicy.Decide"/> (floor = provisioned, ceiling = maxReplicas
/// capped by reserved concurrency, idle window = scaleToZeroAfterSeconds) and writes the Deployment's /scale when the
/// number changes. Only Deployments annotated <c>fnoperator.io/replicas-owner: autoscaler</c> are scaled. Without
/// inputs (the gateway unreachable) nothing is changed: it never scales down blind.
/// </summary>
public sealed partial class ClusterAutoscaler(
    Informer<V1Deployment> deployments, Informer<Function> functions, IScalingInputSource source, IScaleActuator actuator,
    AutoscalerOptions options, TimeProvider time, ILogger<ClusterAutoscaler> logger) : ILeaderService
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var states = new Dictionary<VersionKey, VersionScaleState>();
        var failures = 0;
        long term = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var delay = options.PollInterval;
            try
            {
                var loads = await source.ReadAsync(cancellationToken).ConfigureAwait(false);
                failures = 0;
                await ScaleAllAsync(loads, states, ++term, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException or TaskCanceledException or IOException && !cancellationToken.IsCancellationRequested)
            {
                failures++;
                delay = Backoff.Jittered(failures, options.PollInterval, TimeSpan.FromSeconds(30));
                LogInputsFailed(ex.Message, failures);
            }

            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ScaleAllAsync(IReadOnlyDictionary<VersionKey, VersionLoad> loads, Dictionary<VersionKey, VersionScaleState> states, long term, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var d in deployments.List())
        {
            if (Target(d) is not { } target)
            {
                continue;
            }

            var (key, fn) = target;
            if (!states.TryGetValue(key, out var state))
            {
                if (states.Count >= options.MaxVersions)
                {
                    continue;
                }

                state = states[key] = new VersionScaleState(now, options.BurstInstances);
            }

            state.SeenTerm = term;
            loads.TryGetValue(key, out var load);
            var current = d.Spec?.Replicas ?? 1;
            var input = new ScalingInput(load.Depth, load.InFlight, load.WaitingSync, current, TimeSpan.Zero);
            if (input.Demand > 0)
            {
                state.MarkBusy(now);
            }

            var decision = ScalingPolicy.Decide(input with { IdleFor = now - state.LastBusy }, FunctionScaling.Limits(fn.Spec, options.IdleOverride));
            var desired = decision.Desired;
            if (desired > current)
            {
                desired = current + state.TakeBurst(desired - current, now, options.BurstInstances, options.BurstWindow);
            }

            if (desired != current)
            {
                try
                {
                    await actuator.ScaleAsync(d.Metadata.NamespaceProperty, d.Metadata.Name, desired, cancellationToken).ConfigureAwait(false);
                    LogScaled(key.ToString(), current, desired, decision.Reason, input.Demand);
                }
                catch (k8s.Autorest.HttpOperationException ex)
                {
                    LogScaleFailed(key.ToString(), desired, (int)ex.Response.StatusCode); // deleted meanwhile, or the API is unhappy: next poll retries
                }
            }
        }

        foreach (var gone in states.Where(s => s.Value.SeenTerm != term).Select(s => s.Key).ToList())
        {
            states.Remove(gone);
        }
    }

    /// <summary>An autoscaled version's key and its Function, or null when the Deployment is not the autoscaler's.</summary>
    private (VersionKey Key, Function Fn)? Target(V1Deployment d)
    {
        if (d.Metadata.Annotations?.TryGetValue(Names.AnnotationReplicasOwner, out var owner) != true || owner != Names.ReplicasOwnerAutoscaler
            || d.Metadata.Labels?.TryGetValue(Names.LabelVersion, out var versionLabel) != true || versionLabel is null
            || d.Metadata.OwnerReferences?.FirstOrDefault(o => o.Kind == "Function") is not { } ownerRef
            || functions.Get(new ObjectKey(d.Metadata.NamespaceProperty, ownerRef.Name)) is not { } fn)
        {
            return null;
        }

        var version = versionLabel == Names.LatestVersionLabel ? FunctionVersions.Latest : versionLabel;
        return (new VersionKey(d.Metadata.NamespaceProperty, ownerRef.Name, version), fn);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scaled version={Version} from={From} to={To} reason={Reason} demand={Demand}")]
    private partial void LogScaled(string version, int from, int to, ScalingReason reason, int demand);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scale failed version={Version} to={To} status={Status}")]
    private partial void LogScaleFailed(string version, int to, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Autoscaler inputs unavailable, nothing changed error={Error} attempt={Attempt}")]
    private partial void LogInputsFailed(string error, int attempt);
}
