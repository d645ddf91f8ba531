using System.Net;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.Operator.Tests.Versions;

/// <summary>Reads and writes of versions and Aliases against the API test server.</summary>
public static class VersionHarness
{
    public static Function AutoPublished(string name, int retain = VersioningSpec.DefaultRetain, Action<FunctionSpec>? change = null) =>
        TestFunctions.Node(name, change: s =>
        {
            s.Versioning = new VersioningSpec { AutoPublish = true, Retain = retain };
            change?.Invoke(s);
        });

    public static async Task<IReadOnlyList<V1ControllerRevision>> RevisionsAsync(this OperatorHarness harness, string function, string ns = "default") =>
        [.. (await harness.Client.AppsV1.ListNamespacedControllerRevisionAsync(ns, labelSelector: $"fnoperator.io/function={function}")).Items
            .OrderBy(r => r.Revision)];

    public static async Task<IReadOnlyList<long>> VersionNumbersAsync(this OperatorHarness harness, string function) =>
        [.. (await harness.RevisionsAsync(function)).Select(r => r.Revision ?? 0)];

    public static Task WaitVersionsAsync(this OperatorHarness harness, string function, params long[] expected) =>
        Eventually.True(async () => (await harness.VersionNumbersAsync(function)).SequenceEqual(expected) &&
            (await harness.GetAsync(function))?.Status?.Versions?.Select(v => long.Parse(v.Version)).SequenceEqual(expected) == true,
            $"{function} versions {string.Join(",", expected)}");

    public static async Task<V1Deployment?> DeploymentNamedAsync(this OperatorHarness harness, string name, string ns = "default")
    {
        try
        {
            return await harness.Client.AppsV1.ReadNamespacedDeploymentAsync(name, ns);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public static async Task<Alias> CreateAliasAsync(this OperatorHarness harness, string name, string function, string version, Dictionary<string, double>? weights = null, string ns = "default")
    {
        var alias = new Alias
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new AliasSpec
            {
                FunctionName = function,
                FunctionVersion = version,
                RoutingConfig = weights is null ? null : new AliasRoutingConfig { AdditionalVersionWeights = weights },
            },
        };
        var created = await harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(alias, ApiGroup.Group, ApiGroup.Version, ns, Alias.Plural);
        return KubernetesJson.Deserialize<Alias>((JsonElement)created);
    }

    public static async Task<Alias?> GetAliasAsync(this OperatorHarness harness, string name, string ns = "default")
    {
        try
        {
            var obj = await harness.Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, Alias.Plural, name);
            return KubernetesJson.Deserialize<Alias>((JsonElement)obj);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public static async Task UpdateAliasAsync(this OperatorHarness harness, string name, Action<AliasSpec> change, string ns = "default")
    {
        for (var attempt = 0; ; attempt++)
        {
            var alias = (await harness.GetAliasAsync(name, ns))!;
            change(alias.Spec);
            try
            {
                await harness.Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(alias, ApiGroup.Group, ApiGroup.Version, ns, Alias.Plural, name);
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < 20)
            {
            }
        }
    }

    public static Task WaitAliasAsync(this OperatorHarness harness, string name, string status, string reason, string ns = "default") =>
        Eventually.True(async () =>
        {
            var alias = await harness.GetAliasAsync(name, ns);
            var ready = alias?.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
            return alias?.Status?.ObservedGeneration == alias?.Metadata.Generation && ready?.Status == status && ready.Reason == reason;
        }, $"{ns}/{name} alias Ready={status} {reason}");

    /// <summary>
    /// Asserts nothing else is published, with a barrier instead of a wait: a change of the retention count (a
    /// publishing setting, not configuration) makes a new generation; once the Function is Ready at it, the operator has
    /// reconciled a state that includes every earlier write (the informer delivers them in order), and a version that
    /// any of them would have published exists by then.
    /// </summary>
    public static async Task AssertStaysAsync(this OperatorHarness harness, string function, params long[] expected)
    {
        var retain = (await harness.GetAsync(function))!.Spec.Versioning!.Retain + 1;
        await harness.UpdateAsync(function, s => s.Versioning!.Retain = retain);
        await harness.WaitReadyAsync(function, (await harness.GetAsync(function))!.Metadata.Generation!.Value);
        Assert.Equal(expected, await harness.VersionNumbersAsync(function));
    }
}
