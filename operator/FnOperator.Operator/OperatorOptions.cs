using FnOperator.Contracts;
using FnOperator.Operator.Autoscaling;

namespace FnOperator.Operator;

/// <summary>Operator settings, bound from the "Operator" configuration section (env: Operator__GatewayUrl, …).</summary>
public sealed record OperatorOptions
{
    public const string Section = "Operator";

    /// <summary>Namespace to watch; empty watches all namespaces.</summary>
    public string WatchNamespace { get; init; } = "";

    /// <summary>Namespace of the operator pod (env POD_NAMESPACE): where the leader Lease lives.</summary>
    public string PodNamespace { get; init; } = "fn-system";

    /// <summary>Name of the operator pod (env POD_NAME): the leader election identity.</summary>
    public string PodName { get; init; } = Environment.MachineName;

    public string LeaseName { get; init; } = "fn-operator-leader";

    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Base URL of the gateway's pull protocol, handed to every shim as FNOP_SOURCE_URL.</summary>
    public string GatewayUrl { get; init; } = "http://fn-gateway.fn-system.svc.cluster.local:8080";

    /// <summary>
    /// The bearer token the EventSourceMapping pollers send with every Invoke (the gateway verifies it with a TokenReview
    /// and authorizes it with a SubjectAccessReview when invokeAuth is required): by default the operator pod's own
    /// projected ServiceAccount token, re-read every minute and after a 401/403 (kubelet rotation). A missing file sends
    /// no credentials (a gateway with invokeAuth off); empty disables it.
    /// </summary>
    public string InvokeTokenFile { get; init; } = FnOperator.Contracts.BearerTokenFile.InClusterPath;

    /// <summary>
    /// File holding the cluster key (the chart mounts the cluster-key Secret at /etc/fnop/cluster-key/cluster-key): the
    /// operator mints each function version's pull credential from it. Required; read once at start.
    /// </summary>
    public string ClusterKeyFile { get; init; } = "";

    /// <summary>Public base URL of the gateway's Invoke API, for status.invokeUrl.</summary>
    public string InvokeBaseUrl { get; init; } = "http://fn-gateway.fn-system.svc.cluster.local:8080";

    /// <summary>The fnoperator/runtime-shim image (tag = chart appVersion).</summary>
    public string ShimImage { get; init; } = "fnoperator/runtime-shim:0.1.0";

    /// <summary>
    /// Command of the shim-install init container: copies the shim into the shared emptyDir. Empty means
    /// <see cref="DefaultShimInstallCommand"/> (a non-empty default here would have configured items appended to it,
    /// as the configuration binder does with lists).
    /// </summary>
    public IReadOnlyList<string> ShimInstallCommand { get; init; } = [];

    public static IReadOnlyList<string> DefaultShimInstallCommand { get; } = ["/fnop/runtime-shim", "install", "/fnop-bin"];

    /// <summary>The shim-install command in effect: the configured one, else the default.</summary>
    public IReadOnlyList<string> EffectiveShimInstallCommand => ShimInstallCommand.Count > 0 ? ShimInstallCommand : DefaultShimInstallCommand;

    /// <summary>Path of the shim executable inside the shared emptyDir, the runtime container's command.</summary>
    public string ShimBinaryName { get; init; } = "runtime-shim";

    /// <summary>Image of the code and layer init containers (needs sh, wget, sha256sum, unzip, cp: busybox has all).</summary>
    public string FetchImage { get; init; } = "busybox:1.37";

    /// <summary>Entrypoint of the AWS Lambda base images, which the shim starts as its child.</summary>
    public string RuntimeEntrypoint { get; init; } = "/lambda-entrypoint.sh";

    /// <summary>Runtime id → image holding that runtime's client. Defaults to AWS's public Lambda base images.</summary>
    public Dictionary<string, string> RuntimeImages { get; init; } = new(DefaultRuntimeImages, StringComparer.Ordinal);

    /// <summary>AWS_REGION handed to functions (SDKs inside functions expect one).</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>CPU floor in millicores for the smallest functions.</summary>
    public int MinCpuMillicores { get; init; } = 50;

    /// <summary>Reconcile workers per controller.</summary>
    public int Workers { get; init; } = 4;

    /// <summary>How soon a function waiting on something outside our watches (a missing ConfigMap or Layer) is looked at again.</summary>
    public TimeSpan DependencyRetry { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Layer versions kept besides those a Function names: the newest N (docs/layers.md "Versions and pruning").</summary>
    public int LayerVersionRetention { get; init; } = 10;

    /// <summary>How Function URLs are published (Operator:Urls:…): none, an Ingress or an HTTPRoute per URL.</summary>
    public FunctionUrlOptions Urls { get; init; } = new();

    /// <summary>The cluster autoscaler's settings (Operator:Autoscaler:…); the host binds them as their own singleton.</summary>
    public AutoscalerOptions Autoscaler { get; init; } = new();

    /// <summary>The shared runtime list's images (<see cref="LambdaRuntimes"/>).</summary>
    public static IReadOnlyDictionary<string, string> DefaultRuntimeImages => LambdaRuntimes.DefaultImages;
}
