using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace FnOperator.Kubernetes;

/// <summary>List/watch of a custom resource through the CustomObjects API, decoded into the model type.</summary>
public sealed class CustomResourceListWatch<T>(IKubernetes client, string group, string version, string plural, string? ns)
    : IListWatch<T> where T : IKubernetesObject<V1ObjectMeta>
{
    public async Task<ListResult<T>> ListAsync(CancellationToken cancellationToken)
    {
        using var response = string.IsNullOrEmpty(ns)
            ? await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(
                group, version, plural, cancellationToken: cancellationToken).ConfigureAwait(false)
            : await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(
                group, version, ns, plural, cancellationToken: cancellationToken).ConfigureAwait(false);
        var list = KubernetesJson.Deserialize<CustomResourceList>((JsonElement)response.Body);
        return new ListResult<T>(list.Items ?? [], list.Metadata?.ResourceVersion ?? "");
    }

    public async IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = string.IsNullOrEmpty(ns)
            ? client.CustomObjects.WatchListClusterCustomObjectAsync(
                group, version, plural, allowWatchBookmarks: true, resourceVersion: resourceVersion,
                timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken)
            : client.CustomObjects.WatchListNamespacedCustomObjectAsync(
                group, version, ns, plural, allowWatchBookmarks: true, resourceVersion: resourceVersion,
                timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken);
        await foreach (var (type, obj) in events.ConfigureAwait(false))
        {
            yield return (type, obj switch
            {
                T typed => typed,
                JsonElement element => KubernetesJson.Deserialize<T>(element),
                _ => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(obj)),
            });
        }
    }

    private sealed class CustomResourceList
    {
        [JsonPropertyName("metadata")]
        public V1ListMeta? Metadata { get; set; }

        [JsonPropertyName("items")]
        public List<T>? Items { get; set; }
    }
}
