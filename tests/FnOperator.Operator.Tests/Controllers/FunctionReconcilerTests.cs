using FnOperator.Api;
using FnOperator.Operator.Resources;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>The operator host against the API test server: what ends up stored after each scenario.</summary>
public sealed class FunctionReconcilerTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Reconcile_creates_the_deployment_and_reports_ready_when_function_is_new()
    {
        await harness.CreateAsync(TestFunctions.Node("hello"));

        await harness.WaitReadyAsync("hello");
        var fn = (await harness.GetAsync("hello"))!;
        var deployment = (await harness.DeploymentAsync("hello"))!;
        Assert.Equal("public.ecr.aws/lambda/nodejs:22", deployment.Spec.Template.Spec.Containers[0].Image);
        Assert.Equal(fn.Metadata.Uid, Assert.Single(deployment.Metadata.OwnerReferences).Uid);
        Assert.Equal(1, fn.Status!.ObservedGeneration);
        Assert.Equal(TestFunctions.Sha, fn.Status.CodeSha256);
        Assert.Equal((1, 1), (fn.Status.Replicas, fn.Status.ReadyReplicas));
        Assert.Equal("$LATEST", fn.Status.LatestVersion);
        Assert.Equal("http://invoke.test/2015-03-31/functions/default%2Fhello/invocations", fn.Status.InvokeUrl);
        Assert.Equal(("True", FunctionReasons.CodeResolved), (fn.Status.Condition("CodeReady")!.Status, fn.Status.Condition("CodeReady")!.Reason));
        Assert.Equal("True", fn.Status.Condition("Available")!.Status);
    }

    [Fact]
    public async Task Status_write_keeps_the_last_applied_annotation_the_cache_drops()
    {
        var created = TestFunctions.Node("applied");
        created.Metadata.Annotations = new Dictionary<string, string>
        {
            ["kubectl.kubernetes.io/last-applied-configuration"] = "{\"kind\":\"Function\"}",
            ["team"] = "blue",
        };
        await harness.CreateAsync(created);

        await harness.WaitReadyAsync("applied");
        var stored = (await harness.GetAsync("applied"))!;
        Assert.Equal("{\"kind\":\"Function\"}", stored.Metadata.Annotations["kubectl.kubernetes.io/last-applied-configuration"]);
        Assert.Equal("blue", stored.Metadata.Annotations["team"]);
    }

    public static TheoryData<string, Action<FunctionSpec>, Func<V1Container, string>> Changes => new()
    {
        { "memory", s => s.MemoryMiB = 1024, c => c.Resources.Limits["memory"].ToString() },
        { "env", s => s.Environment = [new EnvironmentVariable { Name = "GREETING", Value = "hej" }], c => c.Env.Single(e => e.Name == "GREETING").Value },
        { "image", s => s.Runtime = "python3.12", c => c.Image },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task Spec_change_rolls_the_deployment_and_readies_the_new_generation(string _, Action<FunctionSpec> change, Func<V1Container, string> read)
    {
        await harness.CreateAsync(TestFunctions.Node("roll"));
        await harness.WaitReadyAsync("roll");
        var before = (await harness.DeploymentAsync("roll"))!;

        await harness.UpdateAsync("roll", change);

        await harness.WaitReadyAsync("roll", generation: 2);
        var after = (await harness.DeploymentAsync("roll"))!;
        var expected = TestFunctions.Node("roll", change: change);
        var expectedContainer = DeploymentBuilder.Build(expected, new ResolvedCode { Source = CodeSource.Url, Url = expected.Spec.Code.Url, Sha256 = TestFunctions.Sha }, [], new OperatorOptions()).Spec.Template.Spec.Containers[0];
        Assert.Equal(read(expectedContainer), read(after.Spec.Template.Spec.Containers[0]));
        Assert.NotEqual(before.Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash], after.Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash]);
        Assert.Equal(before.Metadata.Uid, after.Metadata.Uid); // rolled in place, not recreated
    }

    [Fact]
    public async Task Deleting_the_function_removes_its_deployment()
    {
        await harness.CreateAsync(TestFunctions.Node("gone"));
        await harness.WaitReadyAsync("gone");

        await harness.DeleteAsync("gone");

        await Eventually.True(async () => await harness.DeploymentAsync("gone") is null, "deployment deleted");
        Assert.Null(await harness.GetAsync("gone"));
    }

    [Fact]
    public async Task Invalid_spec_ends_ready_false_with_a_reason_and_no_retry_loop()
    {
        await harness.CreateAsync(TestFunctions.Node("bad", change: s => s.Runtime = "cobol1.0"));

        await harness.WaitConditionAsync("bad", "Ready", "False", FunctionReasons.UnknownRuntime);
        var replica = harness.Replicas[0];
        await Eventually.True(() => replica.Metrics.ReconcileCount(Function.KindName, "terminal") == 1, "terminal reconcile counted");
        Assert.Null(await harness.DeploymentAsync("bad"));
        Assert.Equal(1, (await harness.GetAsync("bad"))!.Status!.ObservedGeneration);

        // Another function going through proves the controller kept working; the bad one was not retried meanwhile.
        await harness.CreateAsync(TestFunctions.Node("good"));
        await harness.WaitReadyAsync("good");
        Assert.Equal(1, replica.Metrics.ReconcileCount(Function.KindName, "terminal"));
        Assert.Equal(0, replica.Metrics.ReconcileCount(Function.KindName, "error"));
    }

    [Fact]
    public async Task Missing_configmap_is_reported_and_the_function_recovers_when_it_appears()
    {
        await harness.CreateAsync(TestFunctions.Node("inline", change: s => s.Code = new FunctionCode { ConfigMap = new ConfigMapCodeSource { Name = "inline-code" } }));
        await harness.WaitConditionAsync("inline", "CodeReady", "False", FunctionReasons.ConfigMapNotFound);
        Assert.Equal("False", (await harness.GetAsync("inline"))!.Status!.Condition("Ready")!.Status);

        await harness.Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "inline-code" }, Data = new Dictionary<string, string> { ["index.mjs"] = "export const handler = async () => 'hi';" } }, "default");

        await harness.WaitReadyAsync("inline");
        var fn = (await harness.GetAsync("inline"))!;
        Assert.Matches("^[a-f0-9]{64}$", fn.Status!.CodeSha256);
        var deployment = (await harness.DeploymentAsync("inline"))!;
        Assert.Equal("inline-code", deployment.Spec.Template.Spec.Volumes.Single(v => v.Name == Names.CodeSourceVolume).ConfigMap.Name);
    }

    [Fact]
    public async Task Drifted_deployment_is_put_back()
    {
        await harness.CreateAsync(TestFunctions.Node("drift"));
        await harness.WaitReadyAsync("drift");

        var deployment = (await harness.DeploymentAsync("drift"))!;
        deployment.Spec.Template.Spec.Containers[0].Image = "attacker/image:latest";
        deployment.Spec.Template.Spec.Containers[0].Env.Add(new V1EnvVar { Name = "INJECTED", Value = "1" });
        await harness.Client.AppsV1.ReplaceNamespacedDeploymentAsync(deployment, deployment.Metadata.Name, "default");

        await Eventually.True(async () =>
        {
            var container = (await harness.DeploymentAsync("drift"))!.Spec.Template.Spec.Containers[0];
            return container.Image == "public.ecr.aws/lambda/nodejs:22" && container.Env.All(e => e.Name != "INJECTED");
        }, "drift repaired");
    }

    [Fact]
    public async Task Deleted_deployment_is_recreated()
    {
        await harness.CreateAsync(TestFunctions.Node("again"));
        await harness.WaitReadyAsync("again");
        var uid = (await harness.DeploymentAsync("again"))!.Metadata.Uid;

        await harness.Client.AppsV1.DeleteNamespacedDeploymentAsync("again-latest", "default");

        await Eventually.True(async () => (await harness.DeploymentAsync("again"))?.Metadata.Uid is { } now && now != uid, "recreated");
    }

    [Fact]
    public async Task Replicas_owned_by_the_autoscaler_are_left_alone()
    {
        await harness.CreateAsync(TestFunctions.Node("scaled"));
        await harness.WaitReadyAsync("scaled");
        var deployment = (await harness.DeploymentAsync("scaled"))!;
        deployment.Metadata.Annotations = new Dictionary<string, string> { [Names.AnnotationReplicasOwner] = Names.ReplicasOwnerAutoscaler };
        deployment.Spec.Replicas = 4;
        await harness.Client.AppsV1.ReplaceNamespacedDeploymentAsync(deployment, deployment.Metadata.Name, "default");

        await harness.UpdateAsync("scaled", s => s.MemoryMiB = 256);
        await harness.WaitReadyAsync("scaled", generation: 2);

        var after = (await harness.DeploymentAsync("scaled"))!;
        Assert.Equal(4, after.Spec.Replicas);
        Assert.Equal("288Mi", after.Spec.Template.Spec.Containers[0].Resources.Limits["memory"].ToString());
        Assert.Equal(4, (await harness.GetAsync("scaled"))!.Status!.ReadyReplicas);
    }

    [Fact]
    public async Task Deployment_of_another_owner_is_not_taken_over_and_the_function_deploys_once_it_is_gone()
    {
        await harness.Client.AppsV1.CreateNamespacedDeploymentAsync(new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = "taken-latest" },
            Spec = new V1DeploymentSpec
            {
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "other" } },
                Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "other" } }, Spec = new V1PodSpec { Containers = [new V1Container { Name = "x", Image = "other" }] } },
            },
        }, "default");

        await harness.CreateAsync(TestFunctions.Node("taken"));

        await harness.WaitConditionAsync("taken", "Ready", "False", FunctionReasons.DeploymentConflict);
        Assert.Equal("other", (await harness.DeploymentAsync("taken"))!.Spec.Template.Spec.Containers[0].Image);

        // Once the other owner's Deployment is gone, the Function gets its own (looked at again every DependencyRetry).
        await harness.Client.AppsV1.DeleteNamespacedDeploymentAsync("taken-latest", "default");
        await harness.WaitReadyAsync("taken");
        Assert.Equal("public.ecr.aws/lambda/nodejs:22", (await harness.DeploymentAsync("taken"))!.Spec.Template.Spec.Containers[0].Image);
    }
}
