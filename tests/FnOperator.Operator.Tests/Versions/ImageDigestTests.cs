using FnOperator.Api;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Tests.Controllers;
using k8s.Models;

namespace FnOperator.Operator.Tests.Versions;

/// <summary>
/// Image code with a tag is pinned to its manifest digest when a version is published, against a real registry
/// (docker-registry on 127.0.0.1): re-pushing the tag changes $LATEST (which keeps the tag) but no published version.
/// </summary>
public sealed class ImageDigestTests : IAsyncLifetime
{
    private RegistryServer registry = null!;
    private OperatorHarness harness = null!;

    public async Task InitializeAsync()
    {
        registry = await RegistryServer.StartAsync();
        harness = await OperatorHarness.StartAsync(settings: ["--Operator:ImageDigests:InsecureRegistries:0", registry.Host]);
    }

    public async Task DisposeAsync()
    {
        await harness.DisposeAsync();
        await registry.DisposeAsync();
    }

    [Fact]
    public async Task A_published_version_keeps_the_digest_its_tag_had_when_the_tag_is_pushed_again()
    {
        var first = await registry.PushAsync("team/fn", "v1", "first build");
        var image = $"{registry.Host}/team/fn:v1";
        await harness.CreateAsync(ImageFunction("imgfn", image));
        await harness.WaitVersionsAsync("imgfn", 1);
        await harness.CreateAliasAsync("imgfn-live", "imgfn", "1");
        await Eventually.True(async () => await harness.DeploymentNamedAsync("imgfn-v1") is not null, "imgfn-v1 Deployment", 60);

        Assert.Equal($"{registry.Host}/team/fn@{first}", RuntimeImage(await harness.DeploymentNamedAsync("imgfn-v1")));
        Assert.Equal(image, RuntimeImage(await harness.DeploymentAsync("imgfn")));
        var fn = (await harness.GetAsync("imgfn"))!;
        Assert.Equal(first["sha256:".Length..], Assert.Single(fn.Status!.Versions!).CodeSha256);
        var revision = Assert.Single(await harness.RevisionsAsync("imgfn"));
        Assert.Equal(first["sha256:".Length..], revision.Metadata.Annotations[Names.AnnotationCodeSha256]);

        // The tag is pushed again with other content, and a configuration change publishes version 2 from it.
        var second = await registry.PushAsync("team/fn", "v1", "second build");
        Assert.NotEqual(first, second);
        await harness.UpdateAsync("imgfn", s => s.MemoryMiB = 256);
        await harness.WaitVersionsAsync("imgfn", 1, 2);
        await harness.CreateAliasAsync("imgfn-next", "imgfn", "2");
        await Eventually.True(async () => await harness.DeploymentNamedAsync("imgfn-v2") is not null, "imgfn-v2 Deployment", 60);

        Assert.Equal($"{registry.Host}/team/fn@{second}", RuntimeImage(await harness.DeploymentNamedAsync("imgfn-v2")));
        Assert.Equal($"{registry.Host}/team/fn@{first}", RuntimeImage(await harness.DeploymentNamedAsync("imgfn-v1")));
        Assert.Equal(image, RuntimeImage(await harness.DeploymentAsync("imgfn")));
        fn = (await harness.GetAsync("imgfn"))!;
        Assert.Equal([first["sha256:".Length..], second["sha256:".Length..]], fn.Status!.Versions!.Select(v => v.CodeSha256));

        // A tag that does not exist publishes nothing, and the versions that exist keep their Deployments.
        await harness.UpdateAsync("imgfn", s => s.Code.Image = $"{registry.Host}/team/fn:v9");
        await harness.WaitConditionAsync("imgfn", FunctionConditions.CodeReady, "False", ImageDigestResolver.ImageNotResolved);
        await Eventually.True(async () => RuntimeImage(await harness.DeploymentAsync("imgfn")) == $"{registry.Host}/team/fn:v9", "$LATEST runs the new tag", 60);
        Assert.Equal([1L, 2L], await harness.VersionNumbersAsync("imgfn"));
        Assert.Equal($"{registry.Host}/team/fn@{first}", RuntimeImage(await harness.DeploymentNamedAsync("imgfn-v1")));
        Assert.Equal($"{registry.Host}/team/fn@{second}", RuntimeImage(await harness.DeploymentNamedAsync("imgfn-v2")));
        Assert.Equal(["1", "2"], (await harness.GetAsync("imgfn"))!.Status!.Versions!.Select(v => v.Version));
    }

    [Fact]
    public async Task An_unknown_tag_publishes_nothing_and_reports_ImageNotResolved_until_the_tag_is_pushed()
    {
        await registry.PushAsync("team/other", "v1", "some build");
        await harness.CreateAsync(ImageFunction("missingtag", $"{registry.Host}/team/other:v2"));

        await harness.WaitConditionAsync("missingtag", FunctionConditions.CodeReady, "False", ImageDigestResolver.ImageNotResolved);
        await harness.WaitEventAsync("missingtag", "Warning", ImageDigestResolver.ImageNotResolved);
        var condition = (await harness.GetAsync("missingtag"))!.Status!.Condition(FunctionConditions.CodeReady)!;
        Assert.Contains("tag 'v2'", condition.Message);
        Assert.Contains("not found", condition.Message);
        Assert.Empty(await harness.RevisionsAsync("missingtag"));
        // $LATEST does not wait for the version: its Deployment runs the tag as written.
        await Eventually.True(async () => await harness.DeploymentAsync("missingtag") is not null, "missingtag $LATEST Deployment", 60);
        Assert.Equal($"{registry.Host}/team/other:v2", RuntimeImage(await harness.DeploymentAsync("missingtag")));

        // Retried with backoff: once the tag exists, version 1 is published, pinned to it.
        var pushed = await registry.PushAsync("team/other", "v2", "the v2 build");
        await Eventually.True(async () => (await harness.VersionNumbersAsync("missingtag")).SequenceEqual([1L]), "missingtag version 1", 120);
        await harness.CreateAliasAsync("missingtag-live", "missingtag", "1");
        await Eventually.True(async () => await harness.DeploymentNamedAsync("missingtag-v1") is not null, "missingtag-v1 Deployment", 60);
        Assert.Equal($"{registry.Host}/team/other@{pushed}", RuntimeImage(await harness.DeploymentNamedAsync("missingtag-v1")));
        await harness.WaitConditionAsync("missingtag", FunctionConditions.CodeReady, "True", FunctionReasons.CodeResolved);
    }

    [Fact]
    public async Task An_unreachable_registry_publishes_nothing_and_reports_ImageNotResolved()
    {
        int closed;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            closed = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }

        await harness.CreateAsync(ImageFunction("unreachable", $"127.0.0.1:{closed}/team/fn:v1"));

        await harness.WaitConditionAsync("unreachable", FunctionConditions.CodeReady, "Unknown", ImageDigestResolver.ImageNotResolved);
        await harness.WaitEventAsync("unreachable", "Warning", ImageDigestResolver.ImageNotResolved);
        var condition = (await harness.GetAsync("unreachable"))!.Status!.Condition(FunctionConditions.CodeReady)!;
        Assert.Contains("unreachable", condition.Message);
        Assert.Empty(await harness.RevisionsAsync("unreachable"));
    }

    [Fact]
    public async Task An_image_reference_that_breaks_the_naming_rules_publishes_nothing_and_reports_InvalidCode()
    {
        await harness.CreateAsync(ImageFunction("badref", $"{registry.Host}/Team/Fn:v1"));

        await harness.WaitConditionAsync("badref", FunctionConditions.CodeReady, "False", FunctionReasons.InvalidCode);
        Assert.Contains("not a valid repository", (await harness.GetAsync("badref"))!.Status!.Condition(FunctionConditions.CodeReady)!.Message);
        Assert.Empty(await harness.RevisionsAsync("badref"));
    }

    private static Function ImageFunction(string name, string image) =>
        VersionHarness.AutoPublished(name, change: s =>
        {
            s.Runtime = null;
            s.Code = new FunctionCode { Image = image };
        });

    private static string RuntimeImage(V1Deployment? deployment) =>
        deployment!.Spec.Template.Spec.Containers.Single(c => c.Name == Names.RuntimeContainer).Image;
}
