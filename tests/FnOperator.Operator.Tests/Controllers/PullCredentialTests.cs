using System.Net;
using System.Text;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Resources;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>The pull-credential Secret of each function version, against the API test server.</summary>
public sealed class PullCredentialTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Reconcile_creates_the_pull_credential_secret_the_gateway_accepts()
    {
        await harness.CreateAsync(TestFunctions.Node("hello"));

        await harness.WaitReadyAsync("hello");
        var fn = (await harness.GetAsync("hello"))!;
        var secret = await SecretAsync("hello-latest-pull");
        Assert.NotNull(secret);
        Assert.Equal("Opaque", secret.Type);
        var owner = Assert.Single(secret.Metadata.OwnerReferences);
        Assert.Equal((fn.Metadata.Uid, Function.KindName, true), (owner.Uid, owner.Kind, owner.Controller));
        Assert.Equal("latest", secret.Metadata.Labels[Names.LabelVersion]);
        Assert.Equal(Names.ManagedBy, secret.Metadata.Labels[Names.LabelManagedBy]);
        var credential = Encoding.ASCII.GetString(secret.Data[PullProtocol.CredentialSecretKey]);
        // What the gateway checks: the credential of default/hello/$LATEST under the cluster key.
        Assert.True(PullProtocol.Verify(TestClusterKey.Key, "default", "hello", "$LATEST", credential));
        Assert.False(PullProtocol.Verify(TestClusterKey.Key, "default", "hello", "1", credential));
        Assert.Equal("hello-latest-pull", (await harness.DeploymentAsync("hello"))!.Spec.Template.Spec.Volumes.Single(v => v.Name == Names.PullCredentialVolume).Secret.SecretName);
    }

    [Fact]
    public async Task A_deleted_or_edited_secret_is_restored_on_the_next_reconcile()
    {
        await harness.CreateAsync(TestFunctions.Node("drift"));
        await harness.WaitReadyAsync("drift");
        var original = (await SecretAsync("drift-latest-pull"))!.Data[PullProtocol.CredentialSecretKey];

        var edited = (await SecretAsync("drift-latest-pull"))!;
        edited.Data[PullProtocol.CredentialSecretKey] = Encoding.ASCII.GetBytes("forged");
        await harness.Client.CoreV1.ReplaceNamespacedSecretAsync(edited, "drift-latest-pull", "default");
        await TouchAsync("drift", "1");
        await Eventually.True(async () => (await SecretAsync("drift-latest-pull"))?.Data[PullProtocol.CredentialSecretKey].SequenceEqual(original) == true, "edited Secret repaired");

        await harness.Client.CoreV1.DeleteNamespacedSecretAsync("drift-latest-pull", "default");
        await TouchAsync("drift", "2");
        await Eventually.True(async () => (await SecretAsync("drift-latest-pull"))?.Data[PullProtocol.CredentialSecretKey].SequenceEqual(original) == true, "deleted Secret restored");
    }

    [Fact]
    public async Task A_foreign_secret_with_the_credential_name_is_left_alone_and_reported()
    {
        await harness.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "taken-latest-pull" },
            Data = new Dictionary<string, byte[]> { ["credential"] = "theirs"u8.ToArray() },
        }, "default");
        await harness.CreateAsync(TestFunctions.Node("taken"));

        await harness.WaitConditionAsync("taken", "Ready", "False", FunctionReasons.PullCredentialConflict);
        var theirs = (await SecretAsync("taken-latest-pull"))!.Data["credential"];
        Assert.Equal("theirs", System.Text.Encoding.ASCII.GetString(theirs));
        Assert.Null(await harness.DeploymentAsync("taken"));

        await harness.Client.CoreV1.DeleteNamespacedSecretAsync("taken-latest-pull", "default");
        await harness.WaitReadyAsync("taken");
        var ours = Encoding.ASCII.GetString((await SecretAsync("taken-latest-pull"))!.Data["credential"]);
        Assert.True(PullProtocol.Verify(TestClusterKey.Key, "default", "taken", "$LATEST", ours));
    }

    [Fact]
    public void A_published_version_gets_its_own_secret_and_credential()
    {
        var fn = TestFunctions.Node("pub");
        var v3 = PullCredentialApplier.Build(FunctionVersion.Published(fn, 3, fn.Spec), TestClusterKey.Key);
        Assert.Equal("pub-v3-pull", v3.Metadata.Name);
        Assert.Equal("3", v3.Metadata.Labels[Names.LabelVersion]);
        Assert.True(PullProtocol.Verify(TestClusterKey.Key, "default", "pub", "3", Encoding.ASCII.GetString(v3.Data["credential"])));
        var longName = PullCredentialApplier.Build(FunctionVersion.Latest(TestFunctions.Node(new string('a', 60))), TestClusterKey.Key);
        Assert.True(longName.Metadata.Name.Length <= Names.MaxNameLength);
        Assert.EndsWith("-latest-pull", longName.Metadata.Name, StringComparison.Ordinal);
    }

    private Task TouchAsync(string name, string value) =>
        harness.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch($"{{\"metadata\":{{\"labels\":{{\"touch\":\"{value}\"}}}}}}", V1Patch.PatchType.MergePatch),
            ApiGroup.Group, ApiGroup.Version, "default", Function.Plural, name);

    private async Task<V1Secret?> SecretAsync(string name)
    {
        try
        {
            return await harness.Client.CoreV1.ReadNamespacedSecretAsync(name, "default");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
