using System.Net;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.Operator.Tests.Versions;

/// <summary>ConfigMap code is copied into an immutable snapshot ConfigMap per published version, so editing the source changes no published version.</summary>
public sealed class ConfigMapCodeSnapshotTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task A_published_version_keeps_its_configmap_code_when_the_source_configmap_changes()
    {
        await harness.Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm-src" }, Data = new Dictionary<string, string> { ["index.mjs"] = "export const handler = async () => 'one';" } }, "default");
        await harness.CreateAsync(VersionHarness.AutoPublished("cmfn", change: s => s.Code = new FunctionCode { ConfigMap = new ConfigMapCodeSource { Name = "cm-src" } }));
        await harness.WaitVersionsAsync("cmfn", 1);
        await harness.CreateAliasAsync("cmfn-live", "cmfn", "1");
        await Eventually.True(async () => await harness.DeploymentNamedAsync("cmfn-v1") is not null, "cmfn-v1 Deployment");

        var copy = await harness.Client.CoreV1.ReadNamespacedConfigMapAsync("cmfn-v1-code", "default");
        Assert.True(copy.Immutable);
        Assert.Equal("export const handler = async () => 'one';", copy.Data["index.mjs"]);
        Assert.Equal("Function", Assert.Single(copy.Metadata.OwnerReferences).Kind);
        Assert.Equal("cmfn-v1-code", CodeVolume(await harness.DeploymentNamedAsync("cmfn-v1")));

        // The source is edited: $LATEST follows it (and autoPublish publishes 2 with its own copy); version 1 does not.
        var source = await harness.Client.CoreV1.ReadNamespacedConfigMapAsync("cm-src", "default");
        source.Data["index.mjs"] = "export const handler = async () => 'two';";
        await harness.Client.CoreV1.ReplaceNamespacedConfigMapAsync(source, "cm-src", "default");
        await harness.WaitVersionsAsync("cmfn", 1, 2);
        var v2copy = await harness.Client.CoreV1.ReadNamespacedConfigMapAsync("cmfn-v2-code", "default");
        Assert.Equal("export const handler = async () => 'two';", v2copy.Data["index.mjs"]);
        Assert.Equal("export const handler = async () => 'one';", (await harness.Client.CoreV1.ReadNamespacedConfigMapAsync("cmfn-v1-code", "default")).Data["index.mjs"]);
        Assert.Equal("cmfn-v1-code", CodeVolume(await harness.DeploymentNamedAsync("cmfn-v1")));
        Assert.Equal("cm-src", CodeVolume(await harness.DeploymentAsync("cmfn")));
        var fn = (await harness.GetAsync("cmfn"))!;
        Assert.NotEqual(fn.Status!.Versions![0].CodeSha256, fn.Status.Versions[1].CodeSha256);

        // The copy cannot be edited, and deleting the source leaves version 1 runnable.
        copy = await harness.Client.CoreV1.ReadNamespacedConfigMapAsync("cmfn-v1-code", "default");
        copy.Data["index.mjs"] = "tampered";
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => harness.Client.CoreV1.ReplaceNamespacedConfigMapAsync(copy, "cmfn-v1-code", "default"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.Response.StatusCode);
        await harness.Client.CoreV1.DeleteNamespacedConfigMapAsync("cm-src", "default");
        Assert.Equal("cmfn-v1-code", CodeVolume(await harness.DeploymentNamedAsync("cmfn-v1")));
    }

    [Fact]
    public async Task Pruning_a_configmap_version_deletes_its_code_copy()
    {
        await harness.Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm-pruned" }, Data = new Dictionary<string, string> { ["index.mjs"] = "1" } }, "default");
        await harness.CreateAsync(VersionHarness.AutoPublished("cmprune", retain: 1, change: s => s.Code = new FunctionCode { ConfigMap = new ConfigMapCodeSource { Name = "cm-pruned" } }));
        await harness.WaitVersionsAsync("cmprune", 1);
        Assert.NotNull(await ConfigMapAsync("cmprune-v1-code"));

        var source = await harness.Client.CoreV1.ReadNamespacedConfigMapAsync("cm-pruned", "default");
        source.Data["index.mjs"] = "2";
        await harness.Client.CoreV1.ReplaceNamespacedConfigMapAsync(source, "cm-pruned", "default");
        await harness.WaitVersionsAsync("cmprune", 2);
        await Eventually.True(async () => await ConfigMapAsync("cmprune-v1-code") is null, "version 1's code copy deleted with it");
        Assert.Equal("2", (await ConfigMapAsync("cmprune-v2-code"))!.Data["index.mjs"]);
    }

    private async Task<V1ConfigMap?> ConfigMapAsync(string name)
    {
        try
        {
            return await harness.Client.CoreV1.ReadNamespacedConfigMapAsync(name, "default");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static string CodeVolume(V1Deployment? deployment) =>
        deployment!.Spec.Template.Spec.Volumes.Single(v => v.Name == Names.CodeSourceVolume).ConfigMap.Name;
}
