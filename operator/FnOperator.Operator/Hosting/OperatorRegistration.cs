using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Hosting;

/// <summary>How one informer caches its kind: compact entries, dropped annotations, secondary indexes.</summary>
public sealed class InformerOptions<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly List<(string Name, Func<T, IEnumerable<string>> Values)> indexes = [];

    /// <summary>See <see cref="Informer{T}.Compact"/>.</summary>
    public bool Compact { get; set; }

    /// <summary>See <see cref="Informer{T}.DroppedAnnotations"/>.</summary>
    public IReadOnlyList<string> DroppedAnnotations { get; set; } = [];

    internal IReadOnlyList<(string Name, Func<T, IEnumerable<string>> Values)> Indexes => indexes;

    /// <summary>A secondary index: <paramref name="values"/> gives the keys an object is found under (see <see cref="Informer{T}.ByIndex"/>).</summary>
    public InformerOptions<T> Index(string name, Func<T, IEnumerable<string>> values)
    {
        indexes.Add((name, values));
        return this;
    }
}

/// <summary>
/// Registration of the operator's parts: informers, controllers, leader-only workers and services. The
/// <see cref="ControllerManager"/> runs what is registered; a new kind is one reconciler plus one <see cref="AddController"/>.
/// </summary>
public static class OperatorRegistration
{
    /// <summary>An informer for a custom resource kind, in the operator's watch namespace (or all).</summary>
    public static IServiceCollection AddInformer<T>(this IServiceCollection services, Action<InformerOptions<T>>? configure = null)
        where T : class, IKubernetesObject<V1ObjectMeta>, new() =>
        services.AddInformer(
            sp => ListWatch.CustomResources<T>(sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<IOptions<OperatorOptions>>().Value.WatchNamespace),
            configure);

    /// <summary>An informer over <paramref name="source"/> (built-in kinds: see <see cref="ListWatch"/>). One per type.</summary>
    public static IServiceCollection AddInformer<T>(
        this IServiceCollection services, Func<IServiceProvider, IListWatch<T>> source, Action<InformerOptions<T>>? configure = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        if (services.Any(d => d.ServiceType == typeof(Informer<T>)))
        {
            throw new InvalidOperationException($"An informer for {typeof(T).Name} is already registered.");
        }

        var options = new InformerOptions<T>();
        configure?.Invoke(options);
        services.AddSingleton(sp =>
        {
            var informer = new Informer<T>(
                KindOf<T>(), source(sp), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<OperatorMetrics>(),
                sp.GetRequiredService<ILogger<Informer<T>>>())
            {
                Compact = options.Compact,
                DroppedAnnotations = options.DroppedAnnotations,
            };
            foreach (var (name, values) in options.Indexes)
            {
                informer.AddIndex(name, values);
            }

            return informer;
        });
        services.AddSingleton<IInformer>(sp => sp.GetRequiredService<Informer<T>>());
        return services;
    }

    /// <summary>
    /// A controller for <typeparamref name="TKind"/> reconciled by <typeparamref name="TReconciler"/> (a singleton),
    /// run only while leading; <paramref name="configure"/> says what else enqueues it. The kind's informer must be registered.
    /// </summary>
    public static IServiceCollection AddController<TReconciler, TKind>(this IServiceCollection services, Action<ControllerBuilder<TKind>>? configure = null)
        where TReconciler : class, IReconciler
        where TKind : class, IKubernetesObject<V1ObjectMeta>, new()
    {
        if (services.Any(d => d.ServiceType == typeof(ControllerOf<TKind>)))
        {
            throw new InvalidOperationException($"A controller for {typeof(TKind).Name} is already registered: one controller per kind.");
        }

        var builder = new ControllerBuilder<TKind>();
        configure?.Invoke(builder);
        services.AddSingleton(new ControllerOf<TKind>(typeof(TReconciler)));
        services.TryAddSingleton<TReconciler>();
        services.AddSingleton<ILeaderTask>(sp => new ControllerRegistration<TReconciler, TKind>(sp, builder));
        return services;
    }

    /// <summary>
    /// One <typeparamref name="TWorker"/> run per <typeparamref name="TKind"/> object while leading, restarted when
    /// <paramref name="restartWhen"/> (default: generation changed) holds for an update, stopped on delete.
    /// </summary>
    public static IServiceCollection AddLeaderWorker<TWorker, TKind>(this IServiceCollection services, Func<TKind?, TKind, bool>? restartWhen = null)
        where TWorker : class, IObjectWorker<TKind>
        where TKind : class, IKubernetesObject<V1ObjectMeta>
    {
        services.TryAddSingleton<TWorker>();
        services.AddSingleton<LeaderWorkerRegistration<TWorker, TKind>>(sp => new(
            sp.GetRequiredService<Informer<TKind>>(), sp.GetRequiredService<TWorker>(), restartWhen ?? Predicates.GenerationChanged,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LeaderWorkerRegistration<TWorker, TKind>>>()));
        services.AddSingleton<ILeaderTask>(sp => sp.GetRequiredService<LeaderWorkerRegistration<TWorker, TKind>>());
        return services;
    }

    /// <summary>A singleton <typeparamref name="TService"/> whose RunAsync runs only while leading.</summary>
    public static IServiceCollection AddLeaderService<TService>(this IServiceCollection services)
        where TService : class, ILeaderService
    {
        services.TryAddSingleton<TService>();
        services.AddSingleton<ILeaderTask>(sp => new LeaderService(typeof(TService).Name, sp.GetRequiredService<TService>()));
        return services;
    }

    private static string KindOf<T>()
    {
        var attribute = typeof(T).GetCustomAttributes(typeof(FnOperator.Api.Schema.CustomResourceAttribute), false);
        return attribute.Length > 0
            ? ((FnOperator.Api.Schema.CustomResourceAttribute)attribute[0]).Kind
            : typeof(T).Name.StartsWith('V') && typeof(T).Name.Length > 2 && char.IsDigit(typeof(T).Name[1]) ? typeof(T).Name[2..] : typeof(T).Name;
    }

    /// <summary>Marks the kind as having its controller (<see cref="AddController"/> refuses a second one).</summary>
    private sealed record ControllerOf<TKind>(Type Reconciler);

    private sealed class LeaderService(string name, ILeaderService service) : ILeaderTask
    {
        public string Name => name;

        public Task RunAsync(CancellationToken cancellationToken) => service.RunAsync(cancellationToken);
    }
}
