using System.Net;
using System.Text;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// configMap content of a Layer: read and hashed like ConfigMap code, and frozen per version in an immutable ConfigMap
/// <c>&lt;layer&gt;-v&lt;N&gt;</c> owned by the Layer, so a published version never changes when the source is edited.
/// </summary>
public sealed class LayerSnapshots(IKubernetes client)
{
    public const string LayerLabel = "fnoperator.io/layer";

    public static string SnapshotName(string layer, int version) => Names.ChildName(layer, "v" + version.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public async Task<(LayerContentResult? Content, Problem? Problem)> ReadAsync(Layer layer, CancellationToken cancellationToken)
    {
        var ns = layer.Metadata.NamespaceProperty;
        var name = layer.Spec.Content.ConfigMap?.Name ?? "";
        try
        {
            var configMap = await client.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            var data = new Dictionary<string, string>(configMap.Data ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            var binary = new Dictionary<string, byte[]>(configMap.BinaryData ?? new Dictionary<string, byte[]>(), StringComparer.Ordinal);
            var text = new StringBuilder();
            foreach (var (key, value) in data.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                text.Append(key).Append('\0').Append(value).Append('\0');
            }

            foreach (var (key, value) in binary.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                text.Append(key).Append('\0').Append(Convert.ToBase64String(value)).Append('\0');
            }

            long size = data.Values.Sum(v => (long)Encoding.UTF8.GetByteCount(v)) + binary.Values.Sum(v => (long)v.Length);
            return (new LayerContentResult(CodeResolver.Hash(text.ToString()), size, size) { ConfigMapData = data, ConfigMapBinaryData = binary }, null);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return (null, Problem.AfterDependency(LayerConditions.ContentReady, LayerReasons.ContentNotFound,
                $"ConfigMap {ns}/{name} named by spec.content.configMap does not exist."));
        }
    }

    /// <returns>The snapshot's name.</returns>
    public async Task<string> CreateAsync(Layer layer, int version, LayerContentResult content, CancellationToken cancellationToken)
    {
        var ns = layer.Metadata.NamespaceProperty;
        var snapshot = new V1ConfigMap
        {
            Metadata = new V1ObjectMeta
            {
                Name = SnapshotName(layer.Metadata.Name, version),
                NamespaceProperty = ns,
                Labels = new Dictionary<string, string> { [Names.LabelManagedBy] = Names.ManagedBy, [LayerLabel] = Names.LabelValue(layer.Metadata.Name) },
                OwnerReferences =
                [
                    new V1OwnerReference
                    {
                        ApiVersion = $"{ApiGroup.Group}/{ApiGroup.Version}", Kind = Layer.KindName, Name = layer.Metadata.Name,
                        Uid = layer.Metadata.Uid, Controller = true,
                    },
                ],
            },
            Immutable = true,
            Data = content.ConfigMapData is { Count: > 0 } d ? new Dictionary<string, string>(d) : null,
            BinaryData = content.ConfigMapBinaryData is { Count: > 0 } b ? new Dictionary<string, byte[]>(b) : null,
        };
        try
        {
            await client.CoreV1.CreateNamespacedConfigMapAsync(snapshot, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Left by a reconcile whose status write did not land: its data may differ, and it is immutable.
            await DeleteAsync(layer, snapshot.Metadata.Name, cancellationToken).ConfigureAwait(false);
            await client.CoreV1.CreateNamespacedConfigMapAsync(snapshot, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return snapshot.Metadata.Name;
    }

    public async Task DeleteAsync(Layer layer, string name, CancellationToken cancellationToken)
    {
        try
        {
            await client.CoreV1.DeleteNamespacedConfigMapAsync(name, layer.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }
}
