using FnOperator.Api;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Runtime;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Hosting;

/// <summary>
/// Owns the informers (run on every replica, so a new leader starts with a warm cache and /readyz means "synced") and
/// the controllers (run only while this replica leads). Watch events map to Function keys: a Function whose
/// generation, labels or annotations changed, and the owner of any managed Deployment that changed.
/// </summary>
public sealed partial class ControllerManager
{
    private readonly FunctionReconciler reconciler;
    private readonly OperatorMetrics metrics;
    private readonly TimeProvider time;
    private readonly ILoggerFactory loggers;
    private readonly OperatorOptions options;
    private readonly ILogger<ControllerManager> logger;
    private volatile Controller? current;

    public ControllerManager(
        Informer<Function> functions, Informer<V1Deployment> deployments, FunctionReconciler reconciler,
        OperatorMetrics metrics, TimeProvider time, ILoggerFactory loggers, IOptions<OperatorOptions> options)
    {
        Functions = functions;
        Deployments = deployments;
        this.reconciler = reconciler;
        this.metrics = metrics;
        this.time = time;
        this.loggers = loggers;
        this.options = options.Value;
        logger = loggers.CreateLogger<ControllerManager>();
        functions.Upserted += (old, fn) =>
        {
            if (old is null || SpecChanged(old, fn))
            {
                current?.Enqueue(ObjectKey.Of(fn));
            }
        };
        deployments.Upserted += (_, deployment) => EnqueueOwner(deployment);
        deployments.Deleted += EnqueueOwner;
    }

    public Informer<Function> Functions { get; }

    public Informer<V1Deployment> Deployments { get; }

    public bool HasSynced => Functions.HasSynced && Deployments.HasSynced;

    public bool IsLeading => current is not null;

    /// <summary>Runs the controllers until <paramref name="cancellationToken"/> is cancelled (leadership lost or shutdown).</summary>
    public async Task LeadAsync(CancellationToken cancellationToken)
    {
        while (!HasSynced)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken).ConfigureAwait(false);
        }

        using var queue = new WorkQueue<ObjectKey>(time, new WorkQueueOptions());
        var controller = new Controller(reconciler, queue, options.Workers, metrics, time, loggers.CreateLogger<Controller>());
        current = controller;
        metrics.Leading(true);
        LogLeading(options.PodName);
        try
        {
            foreach (var fn in Functions.List())
            {
                controller.Enqueue(ObjectKey.Of(fn));
            }

            await controller.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            current = null;
            queue.ShutDown();
            metrics.Leading(false);
            LogStoppedLeading(options.PodName);
        }
    }

    private void EnqueueOwner(V1Deployment deployment)
    {
        var owner = deployment.Metadata.OwnerReferences?.FirstOrDefault(o =>
            o.Controller == true && o.Kind == Function.KindName && o.ApiVersion.StartsWith(ApiGroup.Group + "/", StringComparison.Ordinal));
        if (owner is not null)
        {
            current?.Enqueue(new ObjectKey(deployment.Metadata.NamespaceProperty ?? "", owner.Name));
        }
    }

    // Status-only updates (our own writes) keep the generation: skip them.
    private static bool SpecChanged(Function old, Function fn) =>
        old.Metadata.Generation != fn.Metadata.Generation ||
        old.Metadata.DeletionTimestamp != fn.Metadata.DeletionTimestamp ||
        !SameMap(old.Metadata.Labels, fn.Metadata.Labels) ||
        !SameMap(old.Metadata.Annotations, fn.Metadata.Annotations);

    private static bool SameMap(IDictionary<string, string>? a, IDictionary<string, string>? b) =>
        (a is null || a.Count == 0) ? (b is null || b.Count == 0) : b is not null && a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v == p.Value);

    [LoggerMessage(Level = LogLevel.Information, Message = "Started leading identity={Identity}")]
    private partial void LogLeading(string identity);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped leading identity={Identity}")]
    private partial void LogStoppedLeading(string identity);
}
