using FnOperator.Api;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Runtime;
using k8s.Models;

namespace FnOperator.Operator.Tests.Controllers;

public sealed class StatusTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static V1Deployment Deployment(int wanted, int? replicas, int? updated, int? ready, long generation = 2, long observed = 2, V1DeploymentCondition? condition = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "hello-latest", Generation = generation },
        Spec = new V1DeploymentSpec { Replicas = wanted },
        Status = new V1DeploymentStatus
        {
            ObservedGeneration = observed,
            Replicas = replicas,
            UpdatedReplicas = updated,
            ReadyReplicas = ready,
            Conditions = condition is null ? null : [condition],
        },
    };

    public static TheoryData<string, V1Deployment, string, string, string> Cases => new()
    {
        { "rolled out", Deployment(2, 2, 2, 2), ConditionStatus.True, FunctionReasons.Deployed, FunctionReasons.MinimumReplicasAvailable },
        { "new pods not ready", Deployment(1, 1, 1, 0), "Unknown", FunctionReasons.Deploying, FunctionReasons.NoReplicasReady },
        { "old pods still running", Deployment(1, 2, 1, 2), "Unknown", FunctionReasons.Deploying, FunctionReasons.MinimumReplicasAvailable },
        { "controller has not seen the new spec", Deployment(1, 1, 1, 1, generation: 3, observed: 2), "Unknown", FunctionReasons.Deploying, FunctionReasons.MinimumReplicasAvailable },
        { "scaled to zero", Deployment(0, null, null, null), "True", FunctionReasons.Deployed, FunctionReasons.ScaledToZero },
        {
            "progress deadline exceeded",
            Deployment(1, 1, 1, 0, condition: new V1DeploymentCondition { Type = "Progressing", Status = "False", Reason = "ProgressDeadlineExceeded" }),
            "False", FunctionReasons.ProgressDeadlineExceeded, FunctionReasons.NoReplicasReady
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Deployment_status_maps_to_ready_and_available(string _, V1Deployment deployment, string ready, string readyReason, string availableReason)
    {
        var status = new FunctionStatus();
        var conditions = FunctionConditions.Set.Manage(status, 7, T0);
        conditions.MarkTrue(FunctionConditions.CodeReady, FunctionReasons.CodeResolved, "resolved"); // the mapper runs once code is ready

        DeploymentStatusMapper.Apply(conditions, status, deployment);

        Assert.Equal((ready, readyReason), (status.Condition(FunctionConditions.Ready)!.Status, status.Condition(FunctionConditions.Ready)!.Reason));
        Assert.Equal(availableReason, status.Condition(FunctionConditions.Available)!.Reason);
        Assert.Equal(deployment.Status.ReadyReplicas ?? 0, status.ReadyReplicas);
        Assert.Equal(7, status.Condition(FunctionConditions.Ready)!.ObservedGeneration);
    }

    [Fact]
    public void Ready_keeps_its_transition_time_while_its_status_holds()
    {
        var status = new FunctionStatus();
        Deploying(status, "wait", T0);
        Deploying(status, "still waiting", T0.AddMinutes(1));
        Assert.Equal(T0.UtcDateTime, status.Condition(FunctionConditions.Ready)!.LastTransitionTime);
        Assert.Equal("still waiting", status.Condition(FunctionConditions.Ready)!.Message);

        FunctionConditions.Set.Manage(status, 1, T0.AddMinutes(2)).MarkTrue(FunctionConditions.DeploymentReady, FunctionReasons.Deployed, "rolled out");

        Assert.Equal(T0.AddMinutes(2).UtcDateTime, status.Condition(FunctionConditions.Ready)!.LastTransitionTime);
        Assert.Single(status.Conditions!, c => c.Type == FunctionConditions.Ready);
    }

    [Fact]
    public void Code_failure_marks_code_and_ready_false_with_the_same_reason()
    {
        var status = new FunctionStatus();

        FunctionConditions.Set.Manage(status, 1, T0).MarkFalse(FunctionConditions.CodeReady, FunctionReasons.ConfigMapNotFound, "missing");

        Assert.Equal(["Ready", "CodeReady"], status.Conditions!.Select(c => c.Type));
        Assert.All(status.Conditions!, c => Assert.Equal((ConditionStatus.False, FunctionReasons.ConfigMapNotFound), (c.Status, c.Reason)));
    }

    // Code is resolved; the Deployment is rolling out.
    private static void Deploying(FunctionStatus status, string message, DateTimeOffset now)
    {
        var conditions = FunctionConditions.Set.Manage(status, 1, now);
        conditions.MarkTrue(FunctionConditions.CodeReady, FunctionReasons.CodeResolved, "resolved");
        conditions.MarkUnknown(FunctionConditions.DeploymentReady, FunctionReasons.Deploying, message);
    }
}
