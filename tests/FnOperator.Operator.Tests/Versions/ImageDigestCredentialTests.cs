using System.Net.Http.Headers;
using System.Text;
using FnOperator.Api;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Versions;

/// <summary>
/// A private registry (token auth whose token endpoint wants a user and password): the operator pins the tag with the
/// credential from the imagePullSecrets of the Function's ServiceAccount, and without one reports ImageNotResolved.
/// </summary>
public sealed class ImageDigestCredentialTests : IAsyncLifetime
{
    private string dir = null!;
    private RegistryTokenServer tokens = null!;
    private RegistryServer registry = null!;
    private OperatorHarness harness = null!;

    public async Task InitializeAsync()
    {
        dir = Directory.CreateTempSubdirectory("fnop-registry-private-").FullName;
        var certificate = Path.Combine(dir, "token.pem");
        tokens = new RegistryTokenServer(certificate, "fnuser", "s3cret:with-colon");
        registry = await RegistryServer.StartAsync(tokens.RegistryConfig(certificate));
        harness = await OperatorHarness.StartAsync(settings: ["--Operator:ImageDigests:InsecureRegistries:0", registry.Host]);
    }

    public async Task DisposeAsync()
    {
        await harness.DisposeAsync();
        await registry.DisposeAsync();
        await tokens.DisposeAsync();
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_private_tag_is_pinned_with_the_service_accounts_pull_secret_and_refused_without_one()
    {
        var pushed = await registry.PushAsync("private/fn", "v1", "private build", new AuthenticationHeaderValue("Bearer", tokens.Token("private/fn", "pull", "push")));
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("fnuser:s3cret:with-colon"));
        await harness.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "regcred" },
            Type = "kubernetes.io/dockerconfigjson",
            Data = new Dictionary<string, byte[]>
            {
                [".dockerconfigjson"] = Encoding.UTF8.GetBytes("{\"auths\":{\"https://other.example/v1/\":{\"auth\":\"eDp5\"},\"http://" + registry.Host + "/v2/\":{\"auth\":\"" + auth + "\"}}}"),
            },
        }, "default");
        await harness.Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount
        {
            Metadata = new V1ObjectMeta { Name = "fn-runner" },
            ImagePullSecrets = [new V1LocalObjectReference { Name = "missing" }, new V1LocalObjectReference { Name = "regcred" }],
        }, "default");
        var image = $"{registry.Host}/private/fn:v1";

        await harness.CreateAsync(Function("withcred", image, "fn-runner"));
        await harness.CreateAsync(Function("nocred", image, null));

        await harness.WaitVersionsAsync("withcred", 1);
        var revision = Assert.Single(await harness.RevisionsAsync("withcred"));
        Assert.Equal(pushed["sha256:".Length..], revision.Metadata.Annotations[Names.AnnotationCodeSha256]);
        Assert.Contains($"{registry.Host}/private/fn@{pushed}", KubernetesJson.Serialize(revision.Data));

        await harness.WaitConditionAsync("nocred", FunctionConditions.CodeReady, "False", ImageDigestResolver.ImageNotResolved);
        var condition = (await harness.GetAsync("nocred"))!.Status!.Condition(FunctionConditions.CodeReady)!;
        Assert.Contains("answered 401", condition.Message);
        Assert.Contains("no credential in the imagePullSecrets", condition.Message);
        Assert.Empty(await harness.RevisionsAsync("nocred"));
    }

    [Theory]
    [InlineData("docker.io", "https://index.docker.io/v1/", true)]
    [InlineData("docker.io", "registry-1.docker.io", true)]
    [InlineData("ghcr.io", "https://ghcr.io", true)]
    [InlineData("ghcr.io", "ghcr.io/v2/", true)]
    [InlineData("127.0.0.1:5000", "127.0.0.1:5000", true)]
    [InlineData("127.0.0.1:5000", "127.0.0.1:5001", false)]
    [InlineData("ghcr.io", "docker.io", false)]
    public void A_docker_config_entry_matches_the_images_registry(string registry, string key, bool matches)
    {
        var secret = new V1Secret
        {
            Type = "kubernetes.io/dockerconfigjson",
            Data = new Dictionary<string, byte[]> { [".dockerconfigjson"] = Encoding.UTF8.GetBytes("{\"auths\":{\"" + key + "\":{\"username\":\"u\",\"password\":\"p\"}}}") },
        };

        Assert.Equal(matches ? new RegistryCredential("u", "p") : null, RegistryCredentials.Match(secret, registry));
    }

    [Fact]
    public void An_opaque_secret_or_a_broken_docker_config_gives_no_credential()
    {
        Assert.Null(RegistryCredentials.Match(new V1Secret { Type = "Opaque", Data = new Dictionary<string, byte[]> { [".dockerconfigjson"] = "{}"u8.ToArray() } }, "ghcr.io"));
        Assert.Null(RegistryCredentials.Match(new V1Secret { Type = "kubernetes.io/dockerconfigjson", Data = new Dictionary<string, byte[]> { [".dockerconfigjson"] = "not json"u8.ToArray() } }, "ghcr.io"));
        Assert.Null(RegistryCredentials.Match(new V1Secret { Type = "kubernetes.io/dockerconfigjson", Data = new Dictionary<string, byte[]> { [".dockerconfigjson"] = """{"auths":{"ghcr.io":{"auth":"%%%"}}}"""u8.ToArray() } }, "ghcr.io"));
        Assert.Equal(new RegistryCredential("a", "b"),
            RegistryCredentials.Match(new V1Secret { Type = "kubernetes.io/dockercfg", Data = new Dictionary<string, byte[]> { [".dockercfg"] = """{"ghcr.io":{"auth":"YTpi"}}"""u8.ToArray() } }, "ghcr.io"));
    }

    private static Function Function(string name, string image, string? serviceAccount) =>
        VersionHarness.AutoPublished(name, change: s =>
        {
            s.Runtime = null;
            s.Code = new FunctionCode { Image = image };
            s.ServiceAccountName = serviceAccount;
        });
}
