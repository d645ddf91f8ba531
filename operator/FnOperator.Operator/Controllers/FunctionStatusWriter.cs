using System.Net;
using FnOperator.Api;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Writes Function status through the status subresource, only when it changed; a 409 re-reads the object and
/// applies the status again, unless the spec moved on meanwhile (then the next reconcile writes it).
/// </summary>
public sealed partial class FunctionStatusWriter(IKubernetes client, ILogger<FunctionStatusWriter> logger)
{
    private const int Attempts = 5;

    /// <returns>False when the Function changed generation or disappeared before the status could be written.</returns>
    public async Task<bool> WriteAsync(Function fn, FunctionStatus status, CancellationToken cancellationToken)
    {
        if (fn.Status is not null && KubernetesJson.Serialize(fn.Status) == KubernetesJson.Serialize(status))
        {
            return true;
        }

        var target = fn;
        for (var attempt = 1; ; attempt++)
        {
            var body = new Function { Metadata = target.Metadata, Spec = target.Spec, Status = status };
            try
            {
                await client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(
                    body, ApiGroup.Group, ApiGroup.Version, fn.Metadata.NamespaceProperty, Function.Plural, fn.Metadata.Name,
                    cancellationToken: cancellationToken).ConfigureAwait(false);
                LogStatusUpdated(fn.Metadata.NamespaceProperty, fn.Metadata.Name,
                    status.Condition(FunctionReasons.Ready)?.Status, status.Condition(FunctionReasons.Ready)?.Reason);
                return true;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < Attempts)
            {
                var fresh = await ReadAsync(fn, cancellationToken).ConfigureAwait(false);
                if (fresh is null || fresh.Metadata.Uid != fn.Metadata.Uid || fresh.Metadata.Generation != fn.Metadata.Generation)
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

    private async Task<Function?> ReadAsync(Function fn, CancellationToken cancellationToken)
    {
        try
        {
            var element = await client.CustomObjects.GetNamespacedCustomObjectAsync(
                ApiGroup.Group, ApiGroup.Version, fn.Metadata.NamespaceProperty, Function.Plural, fn.Metadata.Name,
                cancellationToken).ConfigureAwait(false);
            return KubernetesJson.Deserialize<Function>((System.Text.Json.JsonElement)element);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Updated Function status namespace={Namespace} name={Name} ready={Ready} reason={Reason}")]
    private partial void LogStatusUpdated(string? @namespace, string name, string? ready, string? reason);
}
