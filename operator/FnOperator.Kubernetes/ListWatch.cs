using k8s;
using k8s.Models;

namespace FnOperator.Kubernetes;

/// <summary>List/watch sources for the informer: custom resources by model type, built-in kinds by label selector.</summary>
public static class ListWatch
{
    /// <summary>A custom resource type, served where its <see cref="ResourceInfo"/> says, in one namespace or all.</summary>
    public static IListWatch<T> CustomResources<T>(IKubernetes client, string? ns)
        where T : IKubernetesObject<V1ObjectMeta>, new()
    {
        var info = ResourceInfo.Of<T>();
        return new CustomResourceListWatch<T>(client, info.Group, info.Version, info.Plural, ns);
    }

    public static IListWatch<V1Deployment> Deployments(IKubernetes client, string? labelSelector, string? ns) => new BuiltInListWatch<V1Deployment>(
        async ct => string.IsNullOrEmpty(ns)
            ? Result(await client.AppsV1.ListDeploymentForAllNamespacesAsync(labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false))
            : Result(await client.AppsV1.ListNamespacedDeploymentAsync(ns, labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false)),
        (rv, timeout, onError, ct) => string.IsNullOrEmpty(ns)
            ? client.AppsV1.WatchListDeploymentForAllNamespacesAsync(
                allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
            : client.AppsV1.WatchListNamespacedDeploymentAsync(
                ns, allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct));

    public static IListWatch<V1ConfigMap> ConfigMaps(IKubernetes client, string? labelSelector, string? ns) => new BuiltInListWatch<V1ConfigMap>(
        async ct => string.IsNullOrEmpty(ns)
            ? Result(await client.CoreV1.ListConfigMapForAllNamespacesAsync(labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false))
            : Result(await client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false)),
        (rv, timeout, onError, ct) => string.IsNullOrEmpty(ns)
            ? client.CoreV1.WatchListConfigMapForAllNamespacesAsync(
                allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
            : client.CoreV1.WatchListNamespacedConfigMapAsync(
                ns, allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct));

    public static IListWatch<V1ControllerRevision> ControllerRevisions(IKubernetes client, string? labelSelector, string? ns) => new BuiltInListWatch<V1ControllerRevision>(
        async ct => string.IsNullOrEmpty(ns)
            ? Result(await client.AppsV1.ListControllerRevisionForAllNamespacesAsync(labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false))
            : Result(await client.AppsV1.ListNamespacedControllerRevisionAsync(ns, labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false)),
        (rv, timeout, onError, ct) => string.IsNullOrEmpty(ns)
            ? client.AppsV1.WatchListControllerRevisionForAllNamespacesAsync(
                allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
            : client.AppsV1.WatchListNamespacedControllerRevisionAsync(
                ns, allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct));

    /// <summary>Ingresses of one namespace (the operator's Function URL Ingresses live in the gateway's).</summary>
    public static IListWatch<V1Ingress> Ingresses(IKubernetes client, string? labelSelector, string ns) => new BuiltInListWatch<V1Ingress>(
        async ct => Result(await client.NetworkingV1.ListNamespacedIngressAsync(ns, labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false)),
        (rv, timeout, onError, ct) => client.NetworkingV1.WatchListNamespacedIngressAsync(
            ns, allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct));

    private static ListResult<T> Result<T>(IItems<T> list)
        where T : IKubernetesObject<V1ObjectMeta> =>
        new([.. list.Items], (list as IMetadata<V1ListMeta>)?.Metadata?.ResourceVersion ?? "");

    private sealed class BuiltInListWatch<T>(
        Func<CancellationToken, Task<ListResult<T>>> list,
        Func<string, int, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch) : IListWatch<T>
    {
        public Task<ListResult<T>> ListAsync(CancellationToken cancellationToken) => list(cancellationToken);

        public IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(
            string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken) =>
            watch(resourceVersion, timeoutSeconds, onError, cancellationToken);
    }
}
