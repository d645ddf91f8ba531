using FnOperator.Api;
using FnOperator.Operator.Runtime;
using k8s.Models;

namespace FnOperator.Operator.Controllers;

/// <summary>Reads a Deployment's status into the Function's replicas and its DeploymentReady (hence Ready) and Available conditions.</summary>
public static class DeploymentStatusMapper
{
    public static void Apply(ConditionManager conditions, FunctionStatus status, V1Deployment deployment)
    {
        var wanted = deployment.Spec?.Replicas ?? 1;
        var observed = deployment.Status;
        var ready = observed?.ReadyReplicas ?? 0;
        var updated = observed?.UpdatedReplicas ?? 0;
        var total = observed?.Replicas ?? 0;
        status.Replicas = total;
        status.ReadyReplicas = ready;

        var current = (observed?.ObservedGeneration ?? 0) >= (deployment.Metadata.Generation ?? 0);
        var stalled = observed?.Conditions?.FirstOrDefault(c => c.Type == "Progressing") is { Status: ConditionStatus.False, Reason: "ProgressDeadlineExceeded" };
        var rolledOut = current && updated >= wanted && ready >= wanted && total <= updated;

        if (stalled)
        {
            conditions.MarkFalse(FunctionConditions.DeploymentReady, FunctionReasons.ProgressDeadlineExceeded,
                $"Deployment {deployment.Metadata.Name} did not progress: {ready}/{wanted} ready.");
        }
        else if (rolledOut)
        {
            conditions.MarkTrue(FunctionConditions.DeploymentReady, FunctionReasons.Deployed, "The current generation is rolled out.");
        }
        else
        {
            conditions.MarkUnknown(FunctionConditions.DeploymentReady, FunctionReasons.Deploying,
                $"Waiting for Deployment {deployment.Metadata.Name}: {updated}/{wanted} updated, {ready}/{wanted} ready.");
        }

        if (ready > 0)
        {
            conditions.MarkTrue(FunctionConditions.Available, FunctionReasons.MinimumReplicasAvailable, $"{ready} pod(s) ready.");
        }
        else if (wanted == 0)
        {
            conditions.MarkFalse(FunctionConditions.Available, FunctionReasons.ScaledToZero, "Scaled to zero; queued work starts a pod.");
        }
        else
        {
            conditions.MarkFalse(FunctionConditions.Available, FunctionReasons.NoReplicasReady, "No pod is ready yet.");
        }
    }
}
