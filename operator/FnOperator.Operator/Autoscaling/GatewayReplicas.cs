using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using FnOperator.Kubernetes;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Autoscaling;

/// <summary>The gateway replicas the autoscaler reads (stats, busy instances) and listens to (work pushes).</summary>
public interface IGatewayReplicas
{
    /// <summary>Each replica's base address, sorted, at most <see cref="AutoscalerOptions.MaxGatewayReplicas"/>.</summary>
    IReadOnlyList<Uri> Current();
}

/// <summary>One address: the gateway Service (<c>Operator:GatewayUrl</c>), as when discovery is off (local tests, one replica).</summary>
public sealed class SingleGatewayReplica(Uri address) : IGatewayReplicas
{
    private readonly IReadOnlyList<Uri> addresses = [address];

    public IReadOnlyList<Uri> Current() => addresses;
}

/// <summary>
/// Every replica behind the gateway Service, from its EndpointSlices (label <c>kubernetes.io/service-name</c>, in the
/// gateway's namespace; RBAC endpointslices list, watch there): each endpoint that is serving (or ready, when the
/// serving condition is absent) gives <c>http://&lt;first address&gt;:&lt;port named <see cref="AutoscalerOptions.GatewayPortName"/>&gt;/</c>.
/// A terminating replica still serving is kept (it still holds leases and waiting callers until it exits). While the
/// slices name no replica (not synced yet, or a Service name that matches nothing) the Service address is used, so the
/// autoscaler keeps working with one replica's view. At most <see cref="AutoscalerOptions.MaxGatewayReplicas"/> (the
/// first by address; the rest are not read, a bound on streams and reads per poll).
/// </summary>
public sealed class EndpointSliceGatewayReplicas(Informer<V1EndpointSlice> slices, Uri service, AutoscalerOptions options) : IGatewayReplicas
{
    public IReadOnlyList<Uri> Current()
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var slice in slices.List())
        {
            if (slice.Ports?.FirstOrDefault(p => p.Name == options.GatewayPortName)?.Port is not { } port)
            {
                continue;
            }

            foreach (var endpoint in slice.Endpoints ?? [])
            {
                var conditions = endpoint.Conditions;
                var serving = conditions?.Serving ?? conditions?.Ready ?? true;
                if (!serving || endpoint.Addresses is not { Count: > 0 } addresses || string.IsNullOrEmpty(addresses[0]))
                {
                    continue;
                }

                // EndpointSlice: consumers use the first address. IPv6 needs brackets in a URL.
                var host = IPAddress.TryParse(addresses[0], out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{addresses[0]}]" : addresses[0];
                found.Add($"{service.Scheme}://{host}:{port.ToString(CultureInfo.InvariantCulture)}/");
            }
        }

        return found.Count == 0 ? [service] : [.. found.Take(options.MaxGatewayReplicas).Select(a => new Uri(a))];
    }
}

/// <summary>
/// The informer's source: the gateway Service's EndpointSlices in one namespace, or nothing when no Service is
/// configured (discovery off: the list is empty and each watch just ends after its timeout).
/// </summary>
public sealed class GatewayEndpointSliceListWatch(IKubernetes client, string? service, string ns) : IListWatch<V1EndpointSlice>
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    private string Selector => $"{ServiceNameLabel}={service}";

    public async Task<ListResult<V1EndpointSlice>> ListAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(service))
        {
            return new ListResult<V1EndpointSlice>([], "0");
        }

        var list = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(ns, labelSelector: Selector, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new ListResult<V1EndpointSlice>([.. list.Items], list.Metadata?.ResourceVersion ?? "");
    }

    public async IAsyncEnumerable<(WatchEventType Type, V1EndpointSlice Object)> WatchAsync(
        string resourceVersion, int timeoutSeconds, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(service))
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, timeoutSeconds)), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            yield break;
        }

        await foreach (var e in client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
            ns, allowWatchBookmarks: true, labelSelector: Selector, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }
}
