using System.Net;
using System.Text.Json;
using FnOperator.Api;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Runtime;

/// <summary>
/// Writes the status of any custom resource kind through its status subresource (group, version and plural from
/// <see cref="ResourceInfo"/>), only when it changed. A 409 re-reads the object and applies the status again only when
/// what changed meanwhile is not the status (labels, annotations, finalizers): when the object moved to another generation,
/// or its status is no longer the one the caller computed from (another writer, or this operator's own last write that
/// the caller's cache has not shown yet), the status was computed from a past state and is not written: false, and the
/// next reconcile computes it again.
/// </summary>
public sealed partial class StatusWriter(IKubernetes client, ILogger<StatusWriter> logger)
{
    private const int Attempts = 5;

    /// <returns>False when the object changed generation or status, or disappeared, before the status could be written.</returns>
    public async Task<bool> WriteAsync<T, TStatus>(T obj, TStatus status, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>, IStatus<TStatus?>, new()
        where TStatus : class
    {
        var computedFrom = Json(obj.Status);
        if (obj.Status is not null && computedFrom == Json(status))
        {
            return true;
        }

        var info = ResourceInfo.Of<T>();
        var ns = obj.Metadata.NamespaceProperty;
        var target = obj;
        for (var attempt = 1; ; attempt++)
        {
            var body = KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(target));
            body.Status = status;
            try
            {
                await client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(
                    body, info.Group, info.Version, ns, info.Plural, obj.Metadata.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
                var ready = (status as IConditionedStatus)?.Conditions?.FirstOrDefault(c => c.Type == ConditionTypes.Ready);
                LogStatusUpdated(info.Kind, ns, obj.Metadata.Name, ready?.Status, ready?.Reason);
                return true;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < Attempts)
            {
                var fresh = await ReadAsync<T>(info, ns, obj.Metadata.Name, cancellationToken).ConfigureAwait(false);
                if (fresh is null || fresh.Metadata.Uid != obj.Metadata.Uid || fresh.Metadata.Generation != obj.Metadata.Generation
                    || Json(fresh.Status) != computedFrom)
                {
                    return false;
                }

                target = fresh;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }
        }
    }

    /// <summary>The status as JSON; "null" when there is none (KubernetesJson.Serialize does not take null).</summary>
    internal static string Json(object? status) => status is null ? "null" : KubernetesJson.Serialize(status);

    private async Task<T?> ReadAsync<T>(ResourceInfo info, string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            var element = await client.CustomObjects.GetNamespacedCustomObjectAsync(
                info.Group, info.Version, ns, info.Plural, name, cancellationToken).ConfigureAwait(false);
            return KubernetesJson.Deserialize<T>((JsonElement)element);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return default;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Updated {Kind} status namespace={Namespace} name={Name} ready={Ready} reason={Reason}")]
    private partial void LogStatusUpdated(string kind, string? @namespace, string name, string? ready, string? reason);
}
