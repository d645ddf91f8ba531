using System.Net;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// The Function URL phase: validates spec.url, resolves its alias qualifier through the Alias cache, publishes the URL
/// per Operator:Urls:Publish (an Ingress or an HTTPRoute named <c>{function}.{namespace}</c> in the gateway's namespace,
/// built by <see cref="FunctionUrlBuilder"/>) and writes status.functionUrl and the UrlReady condition. The published
/// objects have no ownerReference (it cannot cross namespaces): they are labelled with their Function, an informer
/// watches them (a change or a leftover enqueues the Function), and <see cref="RemoveAsync"/> deletes them when the
/// Function is gone or has no url any more. Live objects are read through the API before each write, as the pull
/// credential's Secret is, so a stale cache never decides a create or an update; the informers' caches only spare the
/// API a list when there is nothing to delete (every Function without a url is reconciled without a call here; a route
/// that appears later enqueues its Function through the watch).
/// </summary>
public sealed partial class FunctionUrlPublisher(
    IKubernetes client, Informer<Alias> aliases, Informer<V1Ingress> ingresses, Informer<HttpRoute> httpRoutes, IEventRecorder events, IOptions<OperatorOptions> optionsAccessor, ILogger<FunctionUrlPublisher> logger)
{
    private const int Attempts = 4;
    private readonly OperatorOptions options = optionsAccessor.Value;

    private FunctionUrlOptions Urls => options.Urls;

    private string GatewayNamespace => options.PodNamespace;

    public async Task<Problem?> PublishAsync(FunctionState state, CancellationToken cancellationToken)
    {
        var fn = state.Function;
        var url = fn.Spec.Url;
        if (url is null)
        {
            state.Status.FunctionUrl = null;
            state.Status.Conditions = state.Status.Conditions?.Where(c => c.Type != FunctionUrlReasons.UrlReady).ToList(); // a new list (ConditionManager's rule)
            await RemoveAsync(ObjectKey.Of(fn), cancellationToken, fn).ConfigureAwait(false);
            return null;
        }

        if (FunctionUrlBuilder.QualifierProblem(url.Qualifier) is { } qualifierProblem)
        {
            return await UnpublishedAsync(state, Problem.Terminal(FunctionUrlReasons.UrlReady, FunctionUrlReasons.InvalidUrl, qualifierProblem), cancellationToken).ConfigureAwait(false);
        }

        if (url.Qualifier is { } alias && alias != Names.LatestVersion && !AliasExists(fn, alias))
        {
            // The Alias watch re-enqueues the Function when one appears.
            return await UnpublishedAsync(state, Problem.AfterDependency(FunctionUrlReasons.UrlReady, FunctionUrlReasons.AliasNotFound,
                $"url.qualifier names alias '{alias}', and function {fn.Metadata.NamespaceProperty}/{fn.Metadata.Name} has no such Alias; create it or set qualifier to $LATEST."), cancellationToken).ConfigureAwait(false);
        }

        if (Urls.Publish == UrlPublishMode.None)
        {
            await RemoveAsync(ObjectKey.Of(fn), cancellationToken, fn).ConfigureAwait(false);
            state.Status.FunctionUrl = FunctionUrlBuilder.Url(fn, Urls, options.InvokeBaseUrl);
            state.Conditions.MarkTrue(FunctionUrlReasons.UrlReady, FunctionUrlReasons.PublishDisabled,
                $"The gateway serves the URL; the operator publishes no Ingress or HTTPRoute (Operator:Urls:Publish is None): route {state.Status.FunctionUrl} to the gateway yourself.");
            return null;
        }

        if (FunctionUrlBuilder.HostProblem(fn, Urls.Domain) is { } hostProblem)
        {
            return await UnpublishedAsync(state, Problem.Terminal(FunctionUrlReasons.UrlReady, FunctionUrlReasons.InvalidUrl, hostProblem), cancellationToken).ConfigureAwait(false);
        }

        string kind;
        Problem? problem;
        if (Urls.Publish == UrlPublishMode.Ingress)
        {
            kind = IngressRoute.Kind;
            problem = await ApplyAsync(IngressRoute, fn, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // Left over from Publish=Ingress (the Ingress API always exists; the HTTPRoute CRD may not, so the reverse is not cleaned).
            await DeleteAllAsync(IngressRoute, ObjectKey.Of(fn), fn, cancellationToken).ConfigureAwait(false);
            kind = HttpRouteRoute.Kind;
            problem = await ApplyAsync(HttpRouteRoute, fn, cancellationToken).ConfigureAwait(false);
        }

        if (problem is not null)
        {
            return await UnpublishedAsync(state, problem, cancellationToken).ConfigureAwait(false);
        }

        state.Status.FunctionUrl = FunctionUrlBuilder.Url(fn, Urls, options.InvokeBaseUrl);
        state.Conditions.MarkTrue(FunctionUrlReasons.UrlReady, FunctionUrlReasons.UrlPublished,
            $"Published as {kind} {GatewayNamespace}/{FunctionUrlBuilder.Name(fn.Metadata.NamespaceProperty, fn.Metadata.Name)} to Service {Urls.GatewayService}:{Urls.GatewayPort}.");
        return null;
    }

    /// <summary>Deletes every published object of the Function <paramref name="key"/> (gone, or without a url).</summary>
    public async Task RemoveAsync(ObjectKey key, CancellationToken cancellationToken, Function? fn = null)
    {
        await DeleteAllAsync(IngressRoute, key, fn, cancellationToken).ConfigureAwait(false);
        if (Urls.Publish == UrlPublishMode.HttpRoute)
        {
            await DeleteAllAsync(HttpRouteRoute, key, fn, cancellationToken).ConfigureAwait(false);
        }
    }

    // A URL that cannot be served now must not stay routed: its objects go, status.functionUrl is cleared.
    private async Task<Problem> UnpublishedAsync(FunctionState state, Problem problem, CancellationToken cancellationToken)
    {
        state.Status.FunctionUrl = null;
        if (problem.Reason is not (FunctionUrlReasons.UrlConflict or FunctionUrlReasons.RouteNotAccepted))
        {
            await RemoveAsync(ObjectKey.Of(state.Function), cancellationToken, state.Function).ConfigureAwait(false);
        }

        return problem;
    }

    private bool AliasExists(Function fn, string name) =>
        aliases.List().Any(a => a.Metadata.NamespaceProperty == fn.Metadata.NamespaceProperty
            && a.Spec.FunctionName == fn.Metadata.Name
            && (a.Spec.Name ?? a.Metadata.Name) == name
            && a.Metadata.DeletionTimestamp is null);

    private async Task<Problem?> ApplyAsync<T>(RouteKind<T> route, Function fn, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var desired = route.Build(fn);
        var name = desired.Metadata.Name;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var existing = await ReadAsync(route, name, cancellationToken).ConfigureAwait(false);
                if (existing is null)
                {
                    await route.Create(desired, cancellationToken).ConfigureAwait(false);
                    LogPublished(route.Kind, GatewayNamespace, name, "Created");
                    events.Record(fn, EventType.Normal, route.CreatedReason, $"Created {route.Kind} {GatewayNamespace}/{name}");
                    return null;
                }

                if (FunctionUrlBuilder.FunctionOf(existing.Metadata) != ObjectKey.Of(fn))
                {
                    return Problem.AfterDependency(FunctionUrlReasons.UrlReady, FunctionUrlReasons.UrlConflict,
                        $"{route.Kind} {GatewayNamespace}/{name} exists and is not this Function URL's; delete or rename it.");
                }

                if (route.Matches(existing, desired))
                {
                    return route.Refused(existing) is { } refused
                        ? Problem.AfterDependency(FunctionUrlReasons.UrlReady, FunctionUrlReasons.RouteNotAccepted, refused)
                        : null;
                }

                route.CopyInto(existing, desired);
                await route.Replace(existing, cancellationToken).ConfigureAwait(false);
                LogPublished(route.Kind, GatewayNamespace, name, "Updated");
                events.Record(fn, EventType.Normal, route.UpdatedReason, $"Updated {route.Kind} {GatewayNamespace}/{name}");
                return null;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound && attempt < Attempts)
            {
                // Created or changed under us (409), or deleted between read and replace (404): read it fresh and go again.
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
            {
                return Problem.AfterDependency(FunctionUrlReasons.UrlReady, FunctionUrlReasons.UrlConflict,
                    $"Cannot write {route.Kind} {GatewayNamespace}/{name}: {(int)e.Response.StatusCode} {e.Response.ReasonPhrase} (is the {route.Kind} API installed and the operator allowed to use it?).");
            }
        }
    }

    private async Task DeleteAllAsync<T>(RouteKind<T> route, ObjectKey key, Function? fn, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        if (!FunctionUrlBuilder.IsDnsLabel(key.Name) || route.Cached(FunctionUrlBuilder.Name(key.Namespace, key.Name)) is null)
        {
            return; // only DNS-label names are ever published (HostProblem); nothing of that name is cached
        }

        var selector = $"{FunctionUrlBuilder.Selector},{Names.LabelFunction}={key.Name},{FunctionUrlBuilder.LabelFunctionNamespace}={key.Namespace}";

        foreach (var item in await route.List(selector, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await route.Delete(item.Metadata.Name, cancellationToken).ConfigureAwait(false);
                LogPublished(route.Kind, GatewayNamespace, item.Metadata.Name, "Deleted");
                if (fn is not null)
                {
                    events.Record(fn, EventType.Normal, route.DeletedReason, $"Deleted {route.Kind} {GatewayNamespace}/{item.Metadata.Name}");
                }
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
            }
        }
    }

    private static async Task<T?> ReadAsync<T>(RouteKind<T> route, string name, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await route.Read(name, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private RouteKind<V1Ingress> IngressRoute => new(
        "Ingress", FunctionUrlReasons.CreatedIngress, FunctionUrlReasons.UpdatedIngress, FunctionUrlReasons.DeletedIngress,
        fn => FunctionUrlBuilder.Ingress(fn, Urls, GatewayNamespace),
        name => ingresses.Get(new ObjectKey(GatewayNamespace, name)),
        (name, ct) => client.NetworkingV1.ReadNamespacedIngressAsync(name, GatewayNamespace, cancellationToken: ct),
        (obj, ct) => client.NetworkingV1.CreateNamespacedIngressAsync(obj, GatewayNamespace, cancellationToken: ct),
        (obj, ct) => client.NetworkingV1.ReplaceNamespacedIngressAsync(obj, obj.Metadata.Name, GatewayNamespace, cancellationToken: ct),
        async (selector, ct) => (await client.NetworkingV1.ListNamespacedIngressAsync(GatewayNamespace, labelSelector: selector, cancellationToken: ct).ConfigureAwait(false)).Items.ToList(),
        (name, ct) => client.NetworkingV1.DeleteNamespacedIngressAsync(name, GatewayNamespace, cancellationToken: ct),
        (existing, desired) => MetadataMatches(existing.Metadata, desired.Metadata) && JsonSubset.Contains(existing.Spec, desired.Spec),
        (existing, desired) =>
        {
            CopyMetadata(existing.Metadata, desired.Metadata);
            existing.Spec = desired.Spec;
        },
        _ => null); // an Ingress's status (load balancer addresses) says nothing about acceptance

    private RouteKind<HttpRoute> HttpRouteRoute => new(
        HttpRoute.KindName, FunctionUrlReasons.CreatedHttpRoute, FunctionUrlReasons.UpdatedHttpRoute, FunctionUrlReasons.DeletedHttpRoute,
        fn => FunctionUrlBuilder.HttpRoute(fn, Urls, GatewayNamespace),
        name => httpRoutes.Get(new ObjectKey(GatewayNamespace, name)),
        async (name, ct) => Decode<HttpRoute>(await client.CustomObjects.GetNamespacedCustomObjectAsync(HttpRoute.Group, HttpRoute.Version, GatewayNamespace, HttpRoute.Plural, name, ct).ConfigureAwait(false)),
        (obj, ct) => client.CustomObjects.CreateNamespacedCustomObjectAsync(obj, HttpRoute.Group, HttpRoute.Version, GatewayNamespace, HttpRoute.Plural, cancellationToken: ct),
        (obj, ct) => client.CustomObjects.ReplaceNamespacedCustomObjectAsync(obj, HttpRoute.Group, HttpRoute.Version, GatewayNamespace, HttpRoute.Plural, obj.Metadata.Name, cancellationToken: ct),
        async (selector, ct) => Decode<HttpRouteList>(await client.CustomObjects.ListNamespacedCustomObjectAsync(HttpRoute.Group, HttpRoute.Version, GatewayNamespace, HttpRoute.Plural, labelSelector: selector, cancellationToken: ct).ConfigureAwait(false)).Items ?? [],
        (name, ct) => client.CustomObjects.DeleteNamespacedCustomObjectAsync(HttpRoute.Group, HttpRoute.Version, GatewayNamespace, HttpRoute.Plural, name, cancellationToken: ct),
        (existing, desired) => MetadataMatches(existing.Metadata, desired.Metadata) && JsonSubset.Contains(existing.Spec, desired.Spec),
        (existing, desired) =>
        {
            CopyMetadata(existing.Metadata, desired.Metadata);
            existing.Spec = desired.Spec;
        },
        RouteRefused);

    // A Gateway that says no (Accepted or ResolvedRefs False for one of its parents, in the route's status): the route stays,
    // the URL is not served until the Gateway's owner admits it; the HTTPRoute watch brings the next status here.
    private static string? RouteRefused(HttpRoute route) =>
        route.Status?.Parents?
            .SelectMany(p => (p.Conditions ?? []).Select(c => (Parent: p.ParentRef, Condition: c)))
            .FirstOrDefault(x => x.Condition.Type is "Accepted" or "ResolvedRefs" && x.Condition.Status == ConditionStatus.False) is { Condition: not null } refused
            ? $"Gateway {refused.Parent?.Namespace ?? route.Metadata.NamespaceProperty}/{refused.Parent?.Name} reports {refused.Condition.Type}=False for HTTPRoute {route.Metadata.NamespaceProperty}/{route.Metadata.Name}: {refused.Condition.Reason}: {refused.Condition.Message}"
            : null;

    private static T Decode<T>(object body) => KubernetesJson.Deserialize<T>(((JsonElement)body).GetRawText());

    private static bool MetadataMatches(V1ObjectMeta existing, V1ObjectMeta desired) =>
        desired.Labels.All(l => existing.Labels?.TryGetValue(l.Key, out var v) == true && v == l.Value)
        && (desired.Annotations ?? new Dictionary<string, string>()).All(a => existing.Annotations?.TryGetValue(a.Key, out var v) == true && v == a.Value);

    private static void CopyMetadata(V1ObjectMeta existing, V1ObjectMeta desired)
    {
        existing.Labels ??= new Dictionary<string, string>();
        foreach (var (key, value) in desired.Labels)
        {
            existing.Labels[key] = value;
        }

        if (desired.Annotations is { } annotations)
        {
            existing.Annotations ??= new Dictionary<string, string>();
            foreach (var (key, value) in annotations)
            {
                existing.Annotations[key] = value;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Verb} {Kind} namespace={Namespace} name={Name}")]
    private partial void LogPublished(string kind, string @namespace, string name, string verb);

    private sealed record RouteKind<T>(
        string Kind, string CreatedReason, string UpdatedReason, string DeletedReason,
        Func<Function, T> Build,
        Func<string, T?> Cached,
        Func<string, CancellationToken, Task<T>> Read,
        Func<T, CancellationToken, Task> Create,
        Func<T, CancellationToken, Task> Replace,
        Func<string, CancellationToken, Task<List<T>>> List,
        Func<string, CancellationToken, Task> Delete,
        Func<T, T, bool> Matches,
        Action<T, T> CopyInto,
        Func<T, string?> Refused)
        where T : class;

    private sealed class HttpRouteList
    {
        [System.Text.Json.Serialization.JsonPropertyName("items")]
        public List<HttpRoute>? Items { get; set; }
    }
}
