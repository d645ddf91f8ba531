using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Contracts.Scaling;
using FnOperator.Kubernetes;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Resources;
using k8s.Models;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Autoscaling;

/// <summary>
/// The cluster autoscaler, leader-only (one <see cref="ILeaderService"/>): every poll it reads each version's load from
/// the gateway, decides with the shared <see cref="ScalingPolicy.Decide"/> (floor = provisioned, ceiling = maxReplicas
/// capped by reserved concurrency, idle window = scaleToZeroAfterSeconds) and writes the Deployment's /scale when the
/// number changes. Only Deployments annotated <c>fnoperator.io/replicas-owner: autoscaler</c> are scaled. Without
/// inputs (the gateway unreachable) nothing is changed: it never scales down blind.
/// Besides the poll, it holds the gateway's push streams (<see cref="IWorkEventSource"/>, one per gateway replica) open:
/// a version whose work arrives at zero is scaled to its first instances at once — between polls, while a poll's read
/// or listing is in flight, and between the versions of a poll's pass (reconnects with <see cref="Backoff"/>; while a
/// stream is down the poll serves). Loads with a gateway replica unread (<see cref="CombinedLoads"/>) scale up only.
/// </summary>
public sealed partial class ClusterAutoscaler(
    Informer<V1Deployment> deployments, Informer<Function> functions, Informer<V1ControllerRevision> revisions, IScalingInputSource source, IWorkEventSource pushSource, IScaleActuator actuator,
    AutoscalerOptions options, TimeProvider time, ILogger<ClusterAutoscaler> logger) : ILeaderService
{
    /// <summary>Pushed versions not handled yet; beyond this many the newest are dropped (the next poll sees their work).</summary>
    public const int MaxPendingPushes = 1024;

    /// <summary>This leadership term's poll number: states not seen in a poll are pruned.</summary>
    private long term;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var states = new Dictionary<VersionKey, VersionScaleState>();
        var pushes = Channel.CreateBounded<VersionKey>(new BoundedChannelOptions(MaxPendingPushes) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true, AllowSynchronousContinuations = true });
        using var stopListening = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var listener = Task.Run(() => ListenAsync(pushes.Writer, stopListening.Token), CancellationToken.None);
        try
        {
            var failures = 0;
            term = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                var delay = options.PollInterval;
                try
                {
                    // The stats read (HTTP to every gateway replica) runs while pushes are served: a push never waits for it.
                    var read = source.ReadAsync(cancellationToken);
                    await ServePushesUntilAsync(read, pushes.Reader, states, cancellationToken).ConfigureAwait(false);
                    var loads = await read.ConfigureAwait(false);
                    failures = 0;
                    term++;
                    await ScaleAllAsync(loads, states, pushes.Reader, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException or TaskCanceledException or IOException && !cancellationToken.IsCancellationRequested)
                {
                    failures++;
                    delay = Backoff.Jittered(failures, options.PollInterval, TimeSpan.FromSeconds(30));
                    LogInputsFailed(ex.Message, failures);
                }

                await WaitServingPushesAsync(delay, pushes.Reader, states, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await stopListening.CancelAsync().ConfigureAwait(false);
            await listener.ConfigureAwait(false);
        }
    }

    /// <summary>Waits until the next poll, scaling pushed versions from zero as they come.</summary>
    private async Task WaitServingPushesAsync(TimeSpan delay, ChannelReader<VersionKey> pushes, Dictionary<VersionKey, VersionScaleState> states, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        using var timerCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(delay, time, timerCancel.Token);
        try
        {
            await ServePushesUntilAsync(timer, pushes, states, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await timerCancel.CancelAsync().ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Scales pushed versions from zero as they come, until <paramref name="until"/> completes (however it completes).</summary>
    private async Task ServePushesUntilAsync(Task until, ChannelReader<VersionKey> pushes, Dictionary<VersionKey, VersionScaleState> states, CancellationToken cancellationToken)
    {
        while (!until.IsCompleted)
        {
            using var waitCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var pushed = pushes.WaitToReadAsync(waitCancel.Token).AsTask();
            var first = await Task.WhenAny(until, pushed).ConfigureAwait(false);
            await waitCancel.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (first == until)
            {
                return;
            }

            await ServePendingPushesAsync(pushes, states, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The pushes waiting now (none: returns at once), scaled from zero.</summary>
    private async Task ServePendingPushesAsync(ChannelReader<VersionKey> pushes, Dictionary<VersionKey, VersionScaleState> states, CancellationToken cancellationToken)
    {
        HashSet<VersionKey>? keys = null;
        while (pushes.TryRead(out var key))
        {
            (keys ??= []).Add(key);
        }

        if (keys is not null)
        {
            await ScaleFromZeroAsync(keys, states, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Holds the push stream open; reconnects with a jittered backoff when it ends or fails.</summary>
    private async Task ListenAsync(ChannelWriter<VersionKey> pushes, CancellationToken cancellationToken)
    {
        var failures = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await foreach (var key in pushSource.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        failures = 0;
                        pushes.TryWrite(key);
                    }

                    failures++;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
                {
                    failures++;
                    LogPushFailed(ex.Message, failures);
                }

                await Task.Delay(Backoff.Jittered(failures, options.PushReconnectDelay, TimeSpan.FromSeconds(30)), time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Pushed versions at zero get their first instances now (what the policy gives one unit of demand, through the burst bucket).</summary>
    private async Task ScaleFromZeroAsync(HashSet<VersionKey> keys, Dictionary<VersionKey, VersionScaleState> states, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var pushed in keys)
        {
            // By name (one cached Deployment decoded), not a scan of every Deployment: this is the latency path.
            var name = Names.ChildName(pushed.Function, Names.VersionSuffix(pushed.Version));
            if (deployments.Get(new ObjectKey(pushed.Namespace, name)) is not { } d || Target(d) is not { } target || target.Key != pushed)
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

                state = states[key] = new VersionScaleState(now, options.BurstInstances) { SeenTerm = term };
            }

            var spec = SpecOf(key, fn, state);
            state.KeepAliveFor(FunctionScaling.KeepAlive(spec)).Observe(true, now - state.LastBusy);
            state.MarkBusy(now);
            if (state.Replicas(d, now) > 0)
            {
                continue; // running already, or our scale-up is on its way (the informer has not seen it yet)
            }

            var decision = ScalingPolicy.Decide(new ScalingInput(1, 0, 0, 0, TimeSpan.Zero), FunctionScaling.Limits(spec, options.IdleOverride));
            if (decision.Desired <= 0)
            {
                continue; // a ceiling of zero (reserved concurrency 0)
            }

            var desired = state.TakeBurst(decision.Desired, now, options.BurstInstances, options.BurstWindow);
            await ScaleAsync(d, key, state, 0, desired, decision.Reason, 1, now, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Drain-aware scale-in: the pods holding a lease get a higher deletion cost than the idle ones before replicas go
    /// down, so the ReplicaSet controller removes idle pods. When that fails the scale-in still happens: a removed busy
    /// shim finishes its invocation in its grace period (it stops leasing on SIGTERM), only capacity is lost meanwhile.
    /// </summary>
    private async Task MarkBusyAsync(V1Deployment d, VersionKey key, VersionScaleState state, IReadOnlyList<string>? busy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            await actuator.MarkBusyAsync(d.Metadata.NamespaceProperty, d.Metadata.Name, new HashSet<string>(busy ?? [], StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
            state.CostsSet(busy ?? [], now);
        }
        catch (k8s.Autorest.HttpOperationException ex)
        {
            LogMarkFailed(key.ToString(), (int)ex.Response.StatusCode);
        }
    }

    private async Task ScaleAsync(V1Deployment d, VersionKey key, VersionScaleState state, int current, int desired, ScalingReason reason, int demand, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            await actuator.ScaleAsync(d.Metadata.NamespaceProperty, d.Metadata.Name, current, desired, cancellationToken).ConfigureAwait(false);
            state.Requested(desired, now, d);
            LogScaled(key.ToString(), current, desired, reason, demand);
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.UnprocessableEntity)
        {
            // The count is no longer the one decided from (someone else's scale, or a former leader's, that the cache has
            // not shown yet): decided again at the next poll, rather than overwriting a newer count.
            LogScaleStale(key.ToString(), current, desired);
        }
        catch (k8s.Autorest.HttpOperationException ex)
        {
            LogScaleFailed(key.ToString(), desired, (int)ex.Response.StatusCode); // deleted meanwhile, or the API is unhappy: next poll retries
        }
    }

    private async Task ScaleAllAsync(IReadOnlyDictionary<VersionKey, VersionLoad> loads, Dictionary<VersionKey, VersionScaleState> states, ChannelReader<VersionKey> pushes, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // Some gateway replica listed but not read (within its grace): its callers and busy pods are unknown, so scale up only.
        var holdScaleIns = loads is CombinedLoads { UnreadReplicas: > 0 };
        var costRefreshes = 0;
        // Listing decodes every cached Deployment (a compact informer): pushes are served meanwhile.
        var listing = Task.Run(deployments.List, cancellationToken);
        await ServePushesUntilAsync(listing, pushes, states, cancellationToken).ConfigureAwait(false);
        foreach (var d in await listing.ConfigureAwait(false))
        {
            // A push that arrived meanwhile is served first: a pass over many versions must not delay a scale from zero.
            await ServePendingPushesAsync(pushes, states, cancellationToken).ConfigureAwait(false);
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
            var current = state.Replicas(d, now);
            var input = new ScalingInput(load.Depth, load.InFlight, load.WaitingSync, current, TimeSpan.Zero);
            var spec = SpecOf(key, fn, state);
            var keepAlive = state.KeepAliveFor(FunctionScaling.KeepAlive(spec));
            // Busy: work queued or in flight now, or invocations handed out since the last poll (short ones that came and
            // went between two polls show in no count: without them a version serving a steady trickle looked idle).
            var active = state.HandedOutSince(load.HandOuts) | input.Demand > 0;
            keepAlive.Observe(active, now - state.LastBusy);
            if (active)
            {
                state.MarkBusy(now);
            }

            var limits = keepAlive.Apply(FunctionScaling.Limits(spec, options.IdleOverride), now - state.LastBusy);
            var decision = ScalingPolicy.Decide(input with { IdleFor = now - state.LastBusy }, limits);
            var desired = decision.Desired;
            if (desired > current)
            {
                desired = current + state.TakeBurst(desired - current, now, options.BurstInstances, options.BurstWindow);
            }

            if (desired < current && holdScaleIns)
            {
                desired = current;
            }

            if (desired < current)
            {
                await MarkBusyAsync(d, key, state, load.Busy, now, cancellationToken).ConfigureAwait(false);
            }
            else if (current > 0 && !holdScaleIns && options.CostRefreshInterval > TimeSpan.Zero && costRefreshes < options.MaxCostRefreshesPerPoll
                && now - state.CostsAt >= options.CostRefreshInterval && !(state.CostsFrom ?? ["(not set this term)"]).SequenceEqual(load.Busy ?? [], StringComparer.Ordinal))
            {
                // Costs kept current between our scale-ins, for a scale-in by someone else (kubectl scale, a rollout's
                // old ReplicaSet): bounded per version and per poll, and pods are patched only where the cost differs.
                costRefreshes++;
                await MarkBusyAsync(d, key, state, load.Busy, now, cancellationToken).ConfigureAwait(false);
            }

            if (desired != current)
            {
                await ScaleAsync(d, key, state, current, desired, decision.Reason, input.Demand, now, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var gone in states.Where(s => s.Value.SeenTerm != term).Select(s => s.Key).ToList())
        {
            states.Remove(gone);
        }
    }

    /// <summary>
    /// The spec whose limits apply: $LATEST's is the Function's; a published version's is its snapshot (the
    /// ControllerRevision <c>&lt;fn&gt;-v&lt;N&gt;</c>, immutable, read once per term), or the Function's while the
    /// snapshot is not in the cache yet.
    /// </summary>
    private Api.FunctionSpec SpecOf(VersionKey key, Function fn, VersionScaleState state)
    {
        if (key.Version == FunctionVersions.Latest || !int.TryParse(key.Version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return fn.Spec;
        }

        if (state.SnapshotSpec is null && revisions.Get(new ObjectKey(key.Namespace, Names.Revision(key.Function, number))) is { } revision
            && Controllers.VersionSnapshot.FromRevision(revision) is { } snapshot)
        {
            state.SnapshotSpec = snapshot.Spec;
        }

        return state.SnapshotSpec ?? fn.Spec;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Scale not made version={Version} from={From} to={To}: the count changed (a scale the cache has not shown yet); deciding again at the next poll")]
    private partial void LogScaleStale(string version, int from, int to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scale failed version={Version} to={To} status={Status}")]
    private partial void LogScaleFailed(string version, int to, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not rank pods for scale-in (pod-deletion-cost) version={Version} status={Status}; scaling in anyway, busy shims drain")]
    private partial void LogMarkFailed(string version, int status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Autoscaler push stream unavailable, polling alone until it reconnects error={Error} attempt={Attempt}")]
    private partial void LogPushFailed(string error, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Autoscaler inputs unavailable, nothing changed error={Error} attempt={Attempt}")]
    private partial void LogInputsFailed(string error, int attempt);
}
