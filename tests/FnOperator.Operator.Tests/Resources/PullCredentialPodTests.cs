using FnOperator.Contracts;
using FnOperator.Operator.Resources;
using k8s.Models;

namespace FnOperator.Operator.Tests.Resources;

/// <summary>The pod side of the pull credential: the Secret volume, its mount and the shim's env variable.</summary>
public sealed class PullCredentialPodTests
{
    private static readonly ResolvedCode Code = new() { Source = CodeSource.Url, Url = "https://code.example.com/hello.zip", Sha256 = TestFunctions.Sha };

    private static V1PodSpec Pod(FunctionVersion version) => DeploymentBuilder.Build(version, Code, [], new OperatorOptions()).Spec.Template.Spec;

    public static TheoryData<string, string> Versions => new() { { "$LATEST", "hello-latest-pull" }, { "7", "hello-v7-pull" } };

    [Theory]
    [MemberData(nameof(Versions))]
    public void Pod_mounts_its_versions_credential_secret_read_only_with_mode_0400(string version, string secretName)
    {
        var fn = TestFunctions.Node("hello");
        var pod = Pod(version == Names.LatestVersion ? FunctionVersion.Latest(fn) : FunctionVersion.Published(fn, 7, fn.Spec));

        var volume = pod.Volumes.Single(v => v.Name == "pull-credential");
        Assert.Equal(secretName, volume.Secret.SecretName);
        Assert.Equal(0x100, volume.Secret.DefaultMode); // 0400
        var item = Assert.Single(volume.Secret.Items);
        Assert.Equal(("credential", "credential"), (item.Key, item.Path));
        var mount = Assert.Single(pod.Containers).VolumeMounts.Single(m => m.Name == "pull-credential");
        Assert.Equal(("/var/run/fnoperator/pull", true), (mount.MountPath, mount.ReadOnlyProperty));
        Assert.All(pod.InitContainers, c => Assert.DoesNotContain(c.VolumeMounts, m => m.Name == "pull-credential"));
    }

    [Fact]
    public void Runtime_container_is_told_where_the_credential_file_is()
    {
        var env = Assert.Single(Pod(FunctionVersion.Latest(TestFunctions.Node())).Containers).Env;
        Assert.Equal("/var/run/fnoperator/pull/credential", env.Single(e => e.Name == PullProtocol.CredentialFileEnv).Value);
    }

    [Fact]
    public void The_file_is_group_readable_by_the_runtime_user_through_fs_group()
    {
        // The kubelet gives Secret volume files the pod's fsGroup and adds group read (0400 becomes 0440, root:fsGroup);
        // the runtime container runs with that group as its primary group, so it can read the credential.
        var pod = Pod(FunctionVersion.Latest(TestFunctions.Node()));
        Assert.Equal(PodSpecBuilder.RunAsGroup, pod.SecurityContext.FsGroup);
        Assert.Equal(PodSpecBuilder.RunAsGroup, pod.SecurityContext.RunAsGroup);
        Assert.Equal(PodSpecBuilder.RunAsUser, pod.SecurityContext.RunAsUser);
        Assert.Null(Assert.Single(pod.Containers).SecurityContext.RunAsGroup);
    }
}
