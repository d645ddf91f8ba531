using System.Net;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.Operator.Tests.Layers;

/// <summary>Layer objects through the API test server, as a user (kubectl) writes them.</summary>
public static class LayerObjects
{
    public static Task<object> CreateLayerAsync(this OperatorHarness harness, string name, LayerContent content, List<string>? runtimes = null) =>
        harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new Layer { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" }, Spec = new LayerSpec { Content = content, CompatibleRuntimes = runtimes } },
            ApiGroup.Group, ApiGroup.Version, "default", Layer.Plural);

    public static LayerContent Url((string Url, string Sha256) served) => new() { Url = served.Url, Sha256 = served.Sha256 };

    public static async Task<Layer?> GetLayerAsync(this OperatorHarness harness, string name)
    {
        try
        {
            return KubernetesJson.Deserialize<Layer>((JsonElement)await harness.Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, "default", Layer.Plural, name));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public static async Task UpdateLayerAsync(this OperatorHarness harness, string name, Action<LayerSpec> change)
    {
        for (var attempt = 0; ; attempt++)
        {
            var layer = (await harness.GetLayerAsync(name))!;
            change(layer.Spec);
            try
            {
                await harness.Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(layer, ApiGroup.Group, ApiGroup.Version, "default", Layer.Plural, name);
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < 20)
            {
            }
        }
    }

    public static Task DeleteLayerAsync(this OperatorHarness harness, string name) =>
        harness.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, "default", Layer.Plural, name);

    /// <summary>
    /// Asserts the Layer was published <paramref name="times"/> times: one PublishedVersion Event aggregates them, and
    /// its count is written at most once a second, so the count is read again after it has had 2 s to grow past it.
    /// </summary>
    public static async Task AssertPublishedTimesAsync(this OperatorHarness harness, string name, int times)
    {
        async Task<int> CountAsync() => (await harness.EventsAsync(name)).Where(e => e.Reason == LayerReasons.PublishedVersion).Sum(e => e.Count ?? 1);
        await Eventually.True(async () => await CountAsync() >= times, $"{name} published {times} times");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(times, await CountAsync());
    }

    /// <summary>Waits until the Layer's status (for its current generation) satisfies <paramref name="condition"/>.</summary>
    public static async Task<Layer> WaitLayerAsync(this OperatorHarness harness, string name, Func<Layer, bool> condition, string what)
    {
        Layer? last = null;
        await Eventually.True(async () =>
        {
            last = await harness.GetLayerAsync(name);
            return last is { Status: not null } && last.Status.ObservedGeneration == last.Metadata.Generation && condition(last);
        }, $"Layer {name}: {what}");
        return last!;
    }

    public static V1Condition? Ready(this Layer layer) => layer.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");

    public static Task<Layer> WaitLayerReasonAsync(this OperatorHarness harness, string name, string status, string reason) =>
        harness.WaitLayerAsync(name, l => l.Ready() is { } c && c.Status == status && c.Reason == reason, $"Ready={status} {reason}");
}
