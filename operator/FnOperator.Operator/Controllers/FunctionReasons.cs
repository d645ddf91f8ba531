namespace FnOperator.Operator;

/// <summary>The constant reasons the Function reconciler writes on its conditions and Events (types: <see cref="FunctionConditions"/>).</summary>
public static class FunctionReasons
{
    // CodeReady
    public const string CodeResolved = "CodeResolved";
    public const string InvalidCode = "InvalidCode";
    public const string ConfigMapNotFound = "ConfigMapNotFound";
    public const string LayerNotFound = "LayerNotFound";
    public const string TooManyLayers = "TooManyLayers";
    public const string IncompatibleLayer = "IncompatibleLayer";
    public const string LayersTooLarge = "LayersTooLarge";

    // DeploymentReady (and Ready for spec problems)
    public const string Deployed = "Deployed";
    public const string Deploying = "Deploying";
    public const string UnknownRuntime = "UnknownRuntime";
    public const string InvalidEnvironment = "InvalidEnvironment";
    public const string InvalidConcurrency = "InvalidConcurrency";
    public const string DeploymentConflict = "DeploymentConflict";
    public const string PullCredentialConflict = "PullCredentialConflict";
    public const string ProgressDeadlineExceeded = "ProgressDeadlineExceeded";

    // Events about the Deployment
    public const string CreatedDeployment = "CreatedDeployment";
    public const string UpdatedDeployment = "UpdatedDeployment";

    // Events about the pull-credential Secret
    public const string CreatedPullCredential = "CreatedPullCredential";
    public const string UpdatedPullCredential = "UpdatedPullCredential";

    // Available
    public const string MinimumReplicasAvailable = "MinimumReplicasAvailable";
    public const string NoReplicasReady = "NoReplicasReady";
    public const string ScaledToZero = "ScaledToZero";
}
