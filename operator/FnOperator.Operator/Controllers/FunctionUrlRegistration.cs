using System.Runtime.CompilerServices;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Resources;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// The Function URL publisher and the informers over what it publishes, in the gateway's namespace: Ingresses always
/// (the API exists in every cluster, so leftovers of an earlier Publish=Ingress are found), HTTPRoutes only with
/// Publish=HttpRoute (elsewhere the CRD may not exist and its list would keep the operator unsynced, so the source is empty).
/// </summary>
public static class FunctionUrlRegistration
{
    public static IServiceCollection AddFunctionUrls(this IServiceCollection services)
    {
        services.AddInformer(sp => ListWatch.Ingresses(sp.GetRequiredService<IKubernetes>(), FunctionUrlBuilder.Selector, GatewayNamespace(sp)));
        services.AddInformer<HttpRoute>(sp => sp.GetRequiredService<IOptions<OperatorOptions>>().Value.Urls.Publish == UrlPublishMode.HttpRoute
            ? new CustomResourceListWatch<HttpRoute>(sp.GetRequiredService<IKubernetes>(), HttpRoute.Group, HttpRoute.Version, HttpRoute.Plural, GatewayNamespace(sp))
            : new EmptyListWatch<HttpRoute>());
        services.TryAddSingleton<FunctionUrlPublisher>();
        return services;
    }

    /// <summary>A published object enqueues the Function its labels name (a drift is repaired, a leftover removed).</summary>
    public static IEnumerable<ObjectKey> FunctionOf(IKubernetesObject<V1ObjectMeta> published) =>
        FunctionUrlBuilder.FunctionOf(published.Metadata) is { } key ? [key] : [];

    private static string GatewayNamespace(IServiceProvider sp) => sp.GetRequiredService<IOptions<OperatorOptions>>().Value.PodNamespace;

    /// <summary>Nothing to list; each watch ends after its timeout without events.</summary>
    private sealed class EmptyListWatch<T> : IListWatch<T>
    {
        public Task<ListResult<T>> ListAsync(CancellationToken cancellationToken) => Task.FromResult(new ListResult<T>([], "0"));

        public async IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(
            string resourceVersion, int timeoutSeconds, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
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
    }
}
