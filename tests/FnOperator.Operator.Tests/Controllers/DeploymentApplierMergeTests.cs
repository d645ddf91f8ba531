using FnOperator.Operator.Controllers;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s.Models;

namespace FnOperator.Operator.Tests.Controllers;

public sealed class DeploymentApplierMergeTests
{
    private static V1Deployment Desired() => DeploymentBuilder.Build(
        TestFunctions.Node(), new ResolvedCode { Source = CodeSource.Url, Url = "https://x/y.zip", Sha256 = TestFunctions.Sha }, [], new OperatorOptions());

    private static V1Deployment Live(int replicas, bool autoscaled)
    {
        var live = Desired();
        live.Metadata.ResourceVersion = "42";
        live.Spec.Replicas = replicas;
        live.Metadata.Annotations = autoscaled
            ? new Dictionary<string, string> { [Names.AnnotationReplicasOwner] = Names.ReplicasOwnerAutoscaler }
            : null; // a Deployment created before the builder marked the autoscaler as owner

        return live;
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 7)]
    public void Merge_sets_replicas_unless_the_autoscaler_owns_them(bool autoscaled, int expected)
    {
        var merged = DeploymentApplier.Merge(Live(7, autoscaled), Desired());

        Assert.Equal(expected, merged.Spec.Replicas);
        Assert.Equal("42", merged.Metadata.ResourceVersion);
    }

    [Fact]
    public void Live_object_with_server_defaults_is_in_sync()
    {
        var live = Live(1, true); // without the replicas-owner annotation it is not in sync: the applier adopts it (docs/autoscaler.md)
        live.Spec.Template.Spec.Containers[0].ImagePullPolicy = "IfNotPresent";
        live.Spec.Template.Spec.DnsPolicy = "ClusterFirst";
        live.Status = new V1DeploymentStatus { ReadyReplicas = 1 };

        Assert.True(JsonSubset.Contains(live, DeploymentApplier.Merge(live, Desired())));
    }

    [Fact]
    public void A_deployment_without_the_replicas_owner_annotation_is_adopted_by_the_merge()
    {
        var live = Live(7, false);

        var merged = DeploymentApplier.Merge(live, Desired());

        Assert.False(JsonSubset.Contains(live, merged)); // drift: the applier writes it
        Assert.Equal(Names.ReplicasOwnerAutoscaler, merged.Metadata.Annotations[Names.AnnotationReplicasOwner]);
        Assert.True(JsonSubset.Contains(merged, DeploymentApplier.Merge(merged, Desired()))); // then in sync, replicas the autoscaler's
    }

    [Fact]
    public void Edited_container_is_drift()
    {
        var live = Live(1, false);
        live.Spec.Template.Spec.Containers[0].Image = "evil/image";

        Assert.False(JsonSubset.Contains(live, DeploymentApplier.Merge(live, Desired())));
    }

    [Fact]
    public void Empty_environment_value_as_the_api_server_returns_it_is_in_sync()
    {
        var fn = TestFunctions.Node(change: s => s.Environment = [new FnOperator.Api.EnvironmentVariable { Name = "EMPTY", Value = "" }]);
        var desired = DeploymentBuilder.Build(fn, new ResolvedCode { Source = CodeSource.Url, Url = "https://x/y.zip", Sha256 = TestFunctions.Sha }, [], new OperatorOptions());
        var live = k8s.KubernetesJson.Deserialize<V1Deployment>(k8s.KubernetesJson.Serialize(desired));
        live.Metadata.ResourceVersion = "42";
        var empty = live.Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "EMPTY");
        empty.Value = null; // Go's omitempty: an empty string is not stored

        Assert.True(JsonSubset.Contains(live, DeploymentApplier.Merge(live, desired)));
    }
}
