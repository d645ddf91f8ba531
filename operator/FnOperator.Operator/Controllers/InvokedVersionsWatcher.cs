using FnOperator.Contracts;
using FnOperator.Kubernetes;
using FnOperator.Operator.Autoscaling;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Resources;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Leader-only: reads the gateway's per-version stats (the autoscaler's <see cref="IScalingInputSource"/>, read-only)
/// every <see cref="InvokedVersionsOptions.PollInterval"/> and records in <see cref="InvokedVersions"/> which published
/// versions had work. At the start of each term it seeds the set with the version Deployments that exist, so a new
/// leader removes none of them before it has watched them for one retention window. An unreachable gateway changes
/// nothing (nothing expires while blind: the readings stop, and expiry only happens on a reading); retries back off to 30 s.
/// </summary>
public sealed partial class InvokedVersionsWatcher(
    IScalingInputSource source, InvokedVersions invoked, Informer<V1Deployment> deployments, InvokedVersionsOptions options,
    TimeProvider time, ILogger<InvokedVersionsWatcher> logger) : ILeaderService
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        invoked.Seed(deployments.List().Select(Deployed).OfType<VersionKey>());
        var failures = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var delay = options.PollInterval;
                try
                {
                    invoked.Observe(await source.ReadAsync(cancellationToken).ConfigureAwait(false));
                    failures = 0;
                }
                catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException or TaskCanceledException or IOException && !cancellationToken.IsCancellationRequested)
                {
                    failures++;
                    delay = Backoff.Jittered(failures, options.PollInterval, TimeSpan.FromSeconds(30));
                    LogStatsFailed(ex.Message, failures);
                }

                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            invoked.Reset();
        }
    }

    /// <summary>The published version a Deployment runs, or null for $LATEST and foreign Deployments.</summary>
    private static VersionKey? Deployed(V1Deployment d) =>
        d.Metadata.Labels?.ValueOf(Names.LabelVersion) is { } version && FunctionVersions.IsPublished(version)
            && d.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true && o.Kind == FnOperator.Api.Function.KindName) is { } owner
            ? new VersionKey(d.Metadata.NamespaceProperty ?? "", owner.Name, version)
            : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway stats unavailable, invoked versions unchanged error={Error} attempt={Attempt}")]
    private partial void LogStatsFailed(string error, int attempt);
}
