using System.Globalization;
using System.Net;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// ConfigMap code of a published version: copied, when the version is published, into an immutable ConfigMap
/// <c>&lt;fn&gt;-v&lt;N&gt;-code</c> owned by the Function, which the version's Deployment mounts instead of the source
/// ConfigMap, so editing (or deleting) the source never changes a published version. Deleted with the version (pruning)
/// and with the Function (owner reference). Layers do the same for configMap content (<see cref="LayerSnapshots"/>).
/// </summary>
public sealed class VersionCodeSnapshots(IKubernetes client)
{
    public static string SnapshotName(string function, int version) =>
        Names.ChildName(function, "v" + version.ToString(CultureInfo.InvariantCulture) + "-code");

    /// <summary>The code a version freezes: for ConfigMap code the copy (created here), otherwise the resolved code as it is.</summary>
    public async Task<ResolvedCode> FreezeAsync(FunctionState state, int version, CancellationToken cancellationToken)
    {
        if (state.Code.Source != CodeSource.ConfigMap || state.CodeConfigMap is not { } source)
        {
            return state.Code;
        }

        var fn = state.Function;
        var ns = fn.Metadata.NamespaceProperty;
        var snapshot = new V1ConfigMap
        {
            Metadata = new V1ObjectMeta
            {
                Name = SnapshotName(fn.Metadata.Name, version),
                NamespaceProperty = ns,
                Labels = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    [Names.LabelManagedBy] = Names.ManagedBy,
                    [Names.LabelFunction] = Names.LabelValue(fn.Metadata.Name),
                    [Names.LabelVersion] = version.ToString(CultureInfo.InvariantCulture),
                },
                OwnerReferences = [new V1OwnerReference { ApiVersion = fn.ApiVersion, Kind = fn.Kind, Name = fn.Metadata.Name, Uid = fn.Metadata.Uid, BlockOwnerDeletion = true, Controller = true }],
            },
            Immutable = true,
            Data = source.Data is { Count: > 0 } d ? new Dictionary<string, string>(d) : null,
            BinaryData = source.BinaryData is { Count: > 0 } b ? new Dictionary<string, byte[]>(b) : null,
        };
        try
        {
            await client.CoreV1.CreateNamespacedConfigMapAsync(snapshot, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Left by a publish whose revision was not created: its data may differ, and it is immutable.
            await DeleteAsync(fn, version, cancellationToken).ConfigureAwait(false);
            await client.CoreV1.CreateNamespacedConfigMapAsync(snapshot, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return state.Code with { ConfigMapName = snapshot.Metadata.Name };
    }

    public async Task DeleteAsync(Function fn, int version, CancellationToken cancellationToken)
    {
        try
        {
            await client.CoreV1.DeleteNamespacedConfigMapAsync(SnapshotName(fn.Metadata.Name, version), fn.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }
}
