using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;

namespace FnOperator.Operator.Hosting;

/// <summary>
/// What a controller for <typeparamref name="TKind"/> reacts to, in controller-runtime's builder shape: the kind itself
/// (filtered by <see cref="When"/>), the children it owns (mapped back through their controller ownerReference) and
/// other watched kinds (mapped through an index of the kind's cache, or a function). Every watched kind needs its informer
/// registered with <c>AddInformer</c>.
/// </summary>
public sealed class ControllerBuilder<TKind>
    where TKind : class, IKubernetesObject<V1ObjectMeta>, new()
{
    private readonly List<Func<IServiceProvider, Action<ObjectKey>, Action>> sources = [];

    internal Func<TKind?, TKind, bool> Predicate { get; private set; } = Predicates.GenerationOrMetadataChanged;

    internal int? WorkerCount { get; private set; }

    internal IReadOnlyList<Func<IServiceProvider, Action<ObjectKey>, Action>> Sources => sources;

    /// <summary>Which adds and updates of the kind itself enqueue it (default: <see cref="Predicates.GenerationOrMetadataChanged"/>).</summary>
    public ControllerBuilder<TKind> When(Func<TKind?, TKind, bool> predicate)
    {
        Predicate = predicate;
        return this;
    }

    /// <summary>Parallel reconciles (default: the operator's Workers option).</summary>
    public ControllerBuilder<TKind> Workers(int count)
    {
        WorkerCount = count;
        return this;
    }

    /// <summary>Any change of a <typeparamref name="TChild"/> whose controller ownerReference is a <typeparamref name="TKind"/> enqueues that owner.</summary>
    public ControllerBuilder<TKind> Owns<TChild>()
        where TChild : class, IKubernetesObject<V1ObjectMeta>
    {
        var owner = ResourceInfo.Of<TKind>();
        return Watches<TChild>(child => Owner(child, owner) is { } key ? [key] : []);
    }

    /// <summary>
    /// Any change of a <typeparamref name="TOther"/> enqueues the <typeparamref name="TKind"/> objects whose cache index
    /// <paramref name="byIndex"/> holds the changed object's key (<see cref="ObjectKey.ToString"/>), e.g. the Functions using a Layer.
    /// </summary>
    public ControllerBuilder<TKind> Watches<TOther>(string byIndex)
        where TOther : class, IKubernetesObject<V1ObjectMeta>
    {
        sources.Add((sp, enqueue) =>
        {
            var primary = sp.GetRequiredService<Informer<TKind>>();
            return Subscribe<TOther>(sp, other =>
            {
                foreach (var obj in primary.ByIndex(byIndex, ObjectKey.Of(other).ToString()))
                {
                    enqueue(ObjectKey.Of(obj));
                }
            });
        });
        return this;
    }

    /// <summary>Any change of a <typeparamref name="TOther"/> enqueues the keys <paramref name="map"/> returns.</summary>
    public ControllerBuilder<TKind> Watches<TOther>(Func<TOther, IEnumerable<ObjectKey>> map)
        where TOther : class, IKubernetesObject<V1ObjectMeta>
    {
        sources.Add((sp, enqueue) => Subscribe<TOther>(sp, other =>
        {
            foreach (var key in map(other))
            {
                enqueue(key);
            }
        }));
        return this;
    }

    /// <summary>A source that is not an informer (e.g. the versions invoked recently): <paramref name="subscribe"/> gets the enqueue action and returns its unsubscribe.</summary>
    public ControllerBuilder<TKind> Watches(Func<IServiceProvider, Action<ObjectKey>, Action> subscribe)
    {
        sources.Add(subscribe);
        return this;
    }

    /// <summary>The key of the object's controller when it is a <paramref name="owner"/> kind of the same group.</summary>
    public static ObjectKey? Owner(IKubernetesObject<V1ObjectMeta> obj, ResourceInfo owner) =>
        obj.Metadata.OwnerReferences?.FirstOrDefault(o =>
            o.Controller == true && o.Kind == owner.Kind && GroupOf(o.ApiVersion) == owner.Group) is { } reference
            ? new ObjectKey(obj.Metadata.NamespaceProperty ?? "", reference.Name)
            : null;

    private static string GroupOf(string apiVersion) =>
        apiVersion.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? apiVersion[..slash] : "";

    private static Action Subscribe<TOther>(IServiceProvider sp, Action<TOther> changed)
        where TOther : class, IKubernetesObject<V1ObjectMeta>
    {
        var informer = sp.GetService<Informer<TOther>>()
            ?? throw new InvalidOperationException($"The controller for {typeof(TKind).Name} watches {typeof(TOther).Name}: register its informer with AddInformer.");
        Action<TOther?, TOther> upserted = (_, obj) => changed(obj);
        informer.Upserted += upserted;
        informer.Deleted += changed;
        return () =>
        {
            informer.Upserted -= upserted;
            informer.Deleted -= changed;
        };
    }
}
