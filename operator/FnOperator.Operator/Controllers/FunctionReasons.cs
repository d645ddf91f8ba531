namespace FnOperator.Operator;

/// <summary>Condition types and the constant reasons the Function reconciler writes.</summary>
public static class FunctionReasons
{
    public const string Ready = "Ready";
    public const string CodeReady = "CodeReady";
    public const string Available = "Available";

    // CodeReady
    public const string CodeResolved = "CodeResolved";
    public const string InvalidCode = "InvalidCode";
    public const string ConfigMapNotFound = "ConfigMapNotFound";
    public const string LayerNotFound = "LayerNotFound";

    // Ready
    public const string Deployed = "Deployed";
    public const string Deploying = "Deploying";
    public const string UnknownRuntime = "UnknownRuntime";
    public const string InvalidEnvironment = "InvalidEnvironment";
    public const string DeploymentConflict = "DeploymentConflict";
    public const string ProgressDeadlineExceeded = "ProgressDeadlineExceeded";
    public const string NotReconciled = "NotReconciled";

    // Available
    public const string MinimumReplicasAvailable = "MinimumReplicasAvailable";
    public const string NoReplicasReady = "NoReplicasReady";
    public const string ScaledToZero = "ScaledToZero";
}
