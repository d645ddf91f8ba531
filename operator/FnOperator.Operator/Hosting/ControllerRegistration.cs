using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Hosting;

/// <summary>
/// One registered controller: subscribes to the kind's informer and the builder's sources once (on every replica, so
/// nothing is missed), and while leading runs a <see cref="Controller"/> over a fresh work queue, starting with every
/// cached object. Events that arrive while not leading are dropped: the next leader enqueues everything anyway.
/// </summary>
internal sealed class ControllerRegistration<TReconciler, TKind> : ILeaderTask
    where TReconciler : IReconciler
    where TKind : class, IKubernetesObject<V1ObjectMeta>, new()
{
    private readonly Informer<TKind> informer;
    private readonly TReconciler reconciler;
    private readonly OperatorMetrics metrics;
    private readonly TimeProvider time;
    private readonly ILoggerFactory loggers;
    private readonly int workers;
    private volatile Controller? current;

    public ControllerRegistration(IServiceProvider services, ControllerBuilder<TKind> builder)
    {
        informer = services.GetRequiredService<Informer<TKind>>();
        reconciler = services.GetRequiredService<TReconciler>();
        metrics = services.GetRequiredService<OperatorMetrics>();
        time = services.GetRequiredService<TimeProvider>();
        loggers = services.GetRequiredService<ILoggerFactory>();
        workers = builder.WorkerCount ?? services.GetRequiredService<IOptions<OperatorOptions>>().Value.Workers;
        var predicate = builder.Predicate;
        informer.Upserted += (old, obj) =>
        {
            if (predicate(old, obj))
            {
                Enqueue(ObjectKey.Of(obj));
            }
        };
        informer.Deleted += obj => Enqueue(ObjectKey.Of(obj));
        foreach (var source in builder.Sources)
        {
            source(services, Enqueue);
        }
    }

    public string Name => reconciler.Kind;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var queue = new WorkQueue<ObjectKey>(time, new WorkQueueOptions());
        var controller = new Controller(reconciler, queue, workers, metrics, time, loggers.CreateLogger<Controller>());
        current = controller;
        try
        {
            foreach (var obj in informer.List())
            {
                controller.Enqueue(ObjectKey.Of(obj));
            }

            await controller.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            current = null;
            queue.ShutDown();
        }
    }

    private void Enqueue(ObjectKey key) => current?.Enqueue(key);
}
