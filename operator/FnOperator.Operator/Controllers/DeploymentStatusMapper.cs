using FnOperator.Api;
using k8s.Models;

namespace FnOperator.Operator.Controllers;

/// <summary>Reads a Deployment's status into the Function's replicas, Ready and Available conditions.</summary>
public static class DeploymentStatusMapper
{
    public static void Apply(FunctionStatus status, V1Deployment deployment, long? generation, DateTimeOffset now)
    {
        var wanted = deployment.Spec?.Replicas ?? 1;
        var observed = deployment.Status;
        var ready = observed?.ReadyReplicas ?? 0;
        var updated = observed?.UpdatedReplicas ?? 0;
        var total = observed?.Replicas ?? 0;
        status.Replicas = total;
        status.ReadyReplicas = ready;

        var current = (observed?.ObservedGeneration ?? 0) >= (deployment.Metadata.Generation ?? 0);
        var stalled = observed?.Conditions?.FirstOrDefault(c => c.Type == "Progressing") is { Status: "False", Reason: "ProgressDeadlineExceeded" };
        var rolledOut = current && updated >= wanted && ready >= wanted && total <= updated;

        if (stalled)
        {
            status.MarkNotReady(FunctionReasons.ProgressDeadlineExceeded,
                $"Deployment {deployment.Metadata.Name} did not progress: {ready}/{wanted} ready.", generation, now);
        }
        else if (rolledOut)
        {
            status.MarkReady(generation, now);
        }
        else
        {
            status.MarkDeploying($"Waiting for Deployment {deployment.Metadata.Name}: {updated}/{wanted} updated, {ready}/{wanted} ready.", generation, now);
        }

        if (ready > 0)
        {
            status.MarkAvailable("True", FunctionReasons.MinimumReplicasAvailable, $"{ready} pod(s) ready.", generation, now);
        }
        else if (wanted == 0)
        {
            status.MarkAvailable("False", FunctionReasons.ScaledToZero, "Scaled to zero; queued work starts a pod.", generation, now);
        }
        else
        {
            status.MarkAvailable("False", FunctionReasons.NoReplicasReady, "No pod is ready yet.", generation, now);
        }
    }
}
