using System.Net;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.Operator.Tests.Versions;

/// <summary>spec.versioning.autoPublish against the API test server: what versions, revisions and Deployments exist.</summary>
public sealed class PublishingTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task AutoPublish_publishes_1_2_3_on_code_and_configuration_changes()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("auto"));
        await harness.WaitVersionsAsync("auto", 1);

        await harness.UpdateAsync("auto", s => s.Code.Sha256 = new string('a', 64));
        await harness.WaitVersionsAsync("auto", 1, 2);
        await harness.UpdateAsync("auto", s => s.MemoryMiB = 512);
        await harness.WaitVersionsAsync("auto", 1, 2, 3);

        var fn = (await harness.GetAsync("auto"))!;
        Assert.Equal("3", fn.Status!.LatestVersion);
        Assert.Equal([TestFunctions.Sha, new string('a', 64), new string('a', 64)], fn.Status.Versions!.Select(v => v.CodeSha256));
        var revisions = await harness.RevisionsAsync("auto");
        Assert.All(revisions, r => Assert.Equal(fn.Metadata.Uid, Assert.Single(r.Metadata.OwnerReferences).Uid));
        Assert.Equal(["auto-v1", "auto-v2", "auto-v3"], revisions.Select(r => r.Metadata.Name));
        await harness.WaitEventAsync("auto", "Normal", "PublishedVersion");
    }

    [Fact]
    public async Task Status_only_and_metadata_only_changes_publish_nothing()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("quiet"));
        await harness.WaitVersionsAsync("quiet", 1);
        await harness.WaitReadyAsync("quiet");

        var fn = (await harness.GetAsync("quiet"))!;
        fn.Metadata.Labels = new Dictionary<string, string> { ["team"] = "blue" };
        fn.Metadata.Annotations = new Dictionary<string, string> { ["note"] = "metadata only" };
        await harness.Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(fn, ApiGroup.Group, ApiGroup.Version, "default", Function.Plural, "quiet");
        fn = (await harness.GetAsync("quiet"))!;
        fn.Status!.Replicas = 7;
        await harness.Client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(fn, ApiGroup.Group, ApiGroup.Version, "default", Function.Plural, "quiet");

        await harness.AssertStaysAsync("quiet", 1);
        await harness.UpdateAsync("quiet", s => s.Versioning!.Retain = 5); // publishing settings are not configuration
        await harness.AssertStaysAsync("quiet", 1);
    }

    [Fact]
    public async Task Without_autoPublish_nothing_is_published()
    {
        await harness.CreateAsync(TestFunctions.Node("manual"));
        await harness.WaitReadyAsync("manual");
        await harness.UpdateAsync("manual", s => s.MemoryMiB = 256);
        await harness.WaitReadyAsync("manual", generation: 2);

        Assert.Empty(await harness.RevisionsAsync("manual"));
        Assert.Equal("$LATEST", (await harness.GetAsync("manual"))!.Status!.LatestVersion);
    }

    [Fact]
    public async Task A_version_snapshot_is_immutable_and_later_spec_changes_leave_its_deployment_alone()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("frozen"));
        await harness.WaitVersionsAsync("frozen", 1);
        await harness.CreateAliasAsync("live", "frozen", "1");
        await Eventually.True(async () => await harness.DeploymentNamedAsync("frozen-v1") is not null, "frozen-v1 Deployment");
        var v1 = (await harness.DeploymentNamedAsync("frozen-v1"))!;
        Assert.Equal("1", v1.Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "AWS_LAMBDA_FUNCTION_VERSION").Value);
        Assert.Equal("1", v1.Metadata.Labels["fnoperator.io/version"]);
        Assert.Equal("160Mi", v1.Spec.Template.Spec.Containers[0].Resources.Limits["memory"].ToString());

        await harness.UpdateAsync("frozen", s =>
        {
            s.MemoryMiB = 1024;
            s.Environment = [new EnvironmentVariable { Name = "GREETING", Value = "new" }];
        });
        await harness.WaitVersionsAsync("frozen", 1, 2);
        await harness.WaitReadyAsync("frozen", generation: 2);

        var after = (await harness.DeploymentNamedAsync("frozen-v1"))!;
        Assert.Equal(v1.Spec.Template.Metadata.Annotations["fnoperator.io/template-hash"], after.Spec.Template.Metadata.Annotations["fnoperator.io/template-hash"]);
        Assert.Equal("160Mi", after.Spec.Template.Spec.Containers[0].Resources.Limits["memory"].ToString());
        Assert.Equal("1056Mi", (await harness.DeploymentAsync("frozen"))!.Spec.Template.Spec.Containers[0].Resources.Limits["memory"].ToString());
        Assert.Null(await harness.DeploymentNamedAsync("frozen-v2")); // no alias, no provisioned concurrency: no Deployment

        // The API server refuses a change of a revision's data.
        var revision = (await harness.RevisionsAsync("frozen"))[0];
        revision.Data = JsonDocument.Parse("{\"spec\":{}}").RootElement;
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() =>
            harness.Client.AppsV1.ReplaceNamespacedControllerRevisionAsync(revision, revision.Metadata.Name, "default"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.Response.StatusCode);
        Assert.Contains("field is immutable", refused.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_referenced_version_gets_its_own_deployment_and_loses_it_when_unreferenced()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("multi"));
        await harness.WaitVersionsAsync("multi", 1);
        await harness.UpdateAsync("multi", s => s.TimeoutSeconds = 10);
        await harness.WaitVersionsAsync("multi", 1, 2);
        await harness.CreateAliasAsync("canary", "multi", "1", new Dictionary<string, double> { ["2"] = 0.1 });

        await Eventually.True(async () => await harness.DeploymentNamedAsync("multi-v1") is not null && await harness.DeploymentNamedAsync("multi-v2") is not null, "v1 and v2 Deployments");
        var v2 = (await harness.DeploymentNamedAsync("multi-v2"))!;
        Assert.Equal("2", v2.Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "AWS_LAMBDA_FUNCTION_VERSION").Value);
        Assert.Equal(new Dictionary<string, string> { ["fnoperator.io/function"] = "multi", ["fnoperator.io/version"] = "2" }, v2.Spec.Selector.MatchLabels);
        Assert.NotNull(await harness.DeploymentAsync("multi"));
        await Eventually.True(async () => (await harness.GetAsync("multi"))?.Status?.Versions?.All(v => v.Deployed == true) == true, "both versions deployed");

        await harness.UpdateAliasAsync("canary", s =>
        {
            s.FunctionVersion = "2";
            s.RoutingConfig = null;
        });
        await Eventually.True(async () => await harness.DeploymentNamedAsync("multi-v1") is null, "v1 Deployment deleted");
        Assert.NotNull(await harness.DeploymentNamedAsync("multi-v2"));
        Assert.NotNull(await harness.DeploymentAsync("multi"));
    }

    [Fact]
    public async Task Provisioned_concurrency_in_a_version_gives_it_a_deployment()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("warm", change: s => s.Concurrency = new ConcurrencySpec { Provisioned = 2 }));
        await harness.WaitVersionsAsync("warm", 1);

        await Eventually.True(async () => await harness.DeploymentNamedAsync("warm-v1") is not null, "warm-v1 Deployment");
        Assert.Equal(2, (await harness.DeploymentNamedAsync("warm-v1"))!.Spec.Replicas);
    }

    [Fact]
    public async Task Pruning_keeps_the_retention_count_and_never_removes_an_aliased_version_or_reuses_a_number()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("pruned", retain: 2));
        await harness.WaitVersionsAsync("pruned", 1);
        await harness.CreateAliasAsync("stable", "pruned", "1");
        await harness.WaitAliasAsync("stable", "True", "VersionsResolved");
        for (var memory = 256; memory <= 1024; memory += 256)
        {
            var expected = (memory / 256) + 1;
            await harness.UpdateAsync("pruned", s => s.MemoryMiB = memory);
            await Eventually.True(async () => (await harness.VersionNumbersAsync("pruned")).Max() == expected, $"version {expected}");
        }

        // Versions 1 (aliased), 4 and 5 (the newest two) remain; 2 and 3 were pruned.
        await harness.WaitVersionsAsync("pruned", 1, 4, 5);
        await harness.WaitEventAsync("pruned", "Normal", "PrunedVersion");

        await harness.UpdateAsync("pruned", s => s.MemoryMiB = 2048);
        await harness.WaitVersionsAsync("pruned", 1, 5, 6);
        Assert.NotNull(await harness.DeploymentNamedAsync("pruned-v1"));
    }

    [Fact]
    public async Task Deleting_the_highest_revision_by_hand_does_not_reuse_its_number()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("gap"));
        await harness.WaitVersionsAsync("gap", 1);
        await harness.UpdateAsync("gap", s => s.MemoryMiB = 256);
        await harness.WaitVersionsAsync("gap", 1, 2);

        await harness.Client.AppsV1.DeleteNamespacedControllerRevisionAsync("gap-v2", "default");

        // $LATEST differs from the highest remaining version again: autoPublish publishes it, as 3.
        await harness.WaitVersionsAsync("gap", 1, 3);
        await harness.AssertStaysAsync("gap", 1, 3);
    }

    [Fact]
    public async Task Deleting_the_highest_revision_while_the_Function_cache_lags_does_not_reuse_its_number()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("lag"));
        await harness.WaitVersionsAsync("lag", 1);

        // From here the operator sees every Function change 3 s late, its status writes included: when v2 is deleted,
        // its cached Function still reports version 1 as the latest.
        harness.Server.Faults.SetWatchLag("fnoperator.io/functions", TimeSpan.FromSeconds(3));
        await harness.UpdateAsync("lag", s => s.MemoryMiB = 256);
        await harness.WaitVersionsAsync("lag", 1, 2);
        await harness.Client.AppsV1.DeleteNamespacedControllerRevisionAsync("lag-v2", "default");

        await harness.WaitVersionsAsync("lag", 1, 3);
        Assert.Equal(["lag-v1", "lag-v3"], (await harness.RevisionsAsync("lag")).Select(r => r.Metadata.Name));
        harness.Server.Faults.SetWatchLag("fnoperator.io/functions", null);
        await harness.AssertStaysAsync("lag", 1, 3);
    }
}
