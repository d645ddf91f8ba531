using k8s;
using k8s.Models;

namespace FnOperator.Operator.Runtime;

/// <summary>List/watch of Deployments carrying a label selector, in one namespace or all.</summary>
public sealed class DeploymentListWatch(IKubernetes client, string labelSelector, string? ns) : IListWatch<V1Deployment>
{
    public async Task<ListResult<V1Deployment>> ListAsync(CancellationToken cancellationToken)
    {
        var list = string.IsNullOrEmpty(ns)
            ? await client.AppsV1.ListDeploymentForAllNamespacesAsync(
                labelSelector: labelSelector, cancellationToken: cancellationToken).ConfigureAwait(false)
            : await client.AppsV1.ListNamespacedDeploymentAsync(
                ns, labelSelector: labelSelector, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new ListResult<V1Deployment>([.. list.Items], list.Metadata?.ResourceVersion ?? "");
    }

    public IAsyncEnumerable<(WatchEventType Type, V1Deployment Object)> WatchAsync(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError, CancellationToken cancellationToken) =>
        string.IsNullOrEmpty(ns)
            ? client.AppsV1.WatchListDeploymentForAllNamespacesAsync(
                allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: resourceVersion,
                timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken)
            : client.AppsV1.WatchListNamespacedDeploymentAsync(
                ns, allowWatchBookmarks: true, labelSelector: labelSelector, resourceVersion: resourceVersion,
                timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken);
}
