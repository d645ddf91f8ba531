using System.Globalization;
using FnOperator.Api;
using FnOperator.EventSources.Schedules;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Keeps a schedule mapping's last fired tick in the annotation <c>fnoperator.io/last-fired-tick</c> (RFC 3339) by a merge
/// patch. Not in status: the reconciler replaces the whole status, and a stale copy written over a newer tick could make
/// the next leader fire a tick twice; a metadata patch is never overwritten by a status write.
/// </summary>
public sealed class ScheduleTickStore(IKubernetes client, Informer<EventSourceMapping> mappings, ObjectKey key) : ITickStore
{
    public const string Annotation = "fnoperator.io/last-fired-tick";

    public async Task<DateTimeOffset?> LoadAsync(CancellationToken cancellationToken)
    {
        // Read from the API (not the cache): a tick written by the previous leader just before failover must be seen.
        var fresh = await client.CustomObjects.GetNamespacedCustomObjectAsync<EventSourceMapping>("fnoperator.io", "v1alpha1", key.Namespace, EventSourceMapping.Plural, key.Name, cancellationToken).ConfigureAwait(false);
        var value = (fresh ?? mappings.Get(key))?.Metadata.Annotations?.TryGetValue(Annotation, out var v) == true ? v : null;
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var tick) ? tick : null;
    }

    public Task SaveAsync(DateTimeOffset tick, CancellationToken cancellationToken)
    {
        var value = tick.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var patch = System.Text.Json.JsonSerializer.Serialize(new { metadata = new { annotations = new Dictionary<string, string> { [Annotation] = value } } });
        return client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), "fnoperator.io", "v1alpha1", key.Namespace, EventSourceMapping.Plural, key.Name, cancellationToken: cancellationToken);
    }
}
