namespace FnOperator.Contracts;

/// <summary>
/// The runtime-shim's process contract: the variables it reads at start (<c>ShimOptions.FromEnvironment</c>). The
/// operator's <c>EnvironmentBuilder</c> (in a cluster) and local mode's <c>ShimEnvironment</c> write them; a contract test
/// checks that every name either writes is one the shim reads, and that both write every <see cref="Required"/> name.
/// FNOP_* variables are the shim's own and never reach the runtime; the Lambda ones are handed on to it.
/// </summary>
public static class ShimVariables
{
    /// <summary>Prefix of the shim's own settings (stripped from the runtime's environment).</summary>
    public const string Prefix = "FNOP_";

    /// <summary>Base URL of the gateway's pull protocol (<see cref="PullProtocol"/>).</summary>
    public const string SourceUrl = "FNOP_SOURCE_URL";

    public const string FunctionNamespace = "FNOP_FUNCTION_NAMESPACE";

    /// <summary>Runtime id (<see cref="LambdaRuntimes"/>), which chooses the shim's built-in launcher.</summary>
    public const string Runtime = "FNOP_RUNTIME";

    /// <summary>A command line that starts the runtime instead of the built-in launcher (the base image's entrypoint).</summary>
    public const string RuntimeCommand = "FNOP_RUNTIME_COMMAND";

    public const string TimeoutSeconds = "FNOP_TIMEOUT_SECONDS";

    public const string InitTimeoutSeconds = "FNOP_INIT_TIMEOUT_SECONDS";

    public const string MaxResponseBytes = "FNOP_MAX_RESPONSE_BYTES";

    /// <summary>Where the shim serves the Runtime API (<c>ip:port</c>; port 0 picks one).</summary>
    public const string RuntimeApiAddress = "FNOP_RUNTIME_API_ADDRESS";

    /// <summary>Where the shim serves /healthz, /readyz and /metrics.</summary>
    public const string HttpAddress = "FNOP_HTTP_ADDRESS";

    public const string MemorySource = "FNOP_MEMORY_SOURCE";

    public const string LogLevel = "FNOP_LOG_LEVEL";

    /// <summary>Local mode only: the shim stops once this process is gone.</summary>
    public const string ParentPid = "FNOP_PARENT_PID";

    /// <summary>
    /// The directory holding the function's merged layers (Lambda's /opt): the provided* bootstrap fallback and the root of
    /// the layer paths on NODE_PATH, PYTHONPATH, PATH and LD_LIBRARY_PATH. Unset: /opt (pods). Local mode points it at a
    /// per-function directory, since the host's /opt cannot differ per function (docs/layers.md).
    /// </summary>
    public const string LayersRoot = "FNOP_LAYERS_ROOT";

    /// <summary>Where a pod's layers are extracted (<see cref="LayersRoot"/> unset).</summary>
    public const string ClusterLayersRoot = "/opt";

    /// <summary>The Runtime API address the operator's pods use: loopback only (docs/security.md).</summary>
    public const string ClusterRuntimeApiAddress = "127.0.0.1:9001";

    /// <summary>Lambda variables the shim reads from its own environment as configuration.</summary>
    public static IReadOnlyList<string> LambdaNamesRead { get; } =
    [
        LambdaVariables.FunctionName, LambdaVariables.FunctionVersion, LambdaVariables.FunctionMemorySize,
        LambdaVariables.Handler, LambdaVariables.TaskRoot, LambdaVariables.Region,
        LambdaVariables.LogFormat, LambdaVariables.LogLevel,
    ];

    /// <summary>Names every writer must set; the shim refuses to start without them (plus one of Runtime, RuntimeCommand).</summary>
    public static IReadOnlyList<string> Required { get; } =
    [
        LambdaVariables.FunctionName, LambdaVariables.FunctionVersion, LambdaVariables.FunctionMemorySize,
        LambdaVariables.TaskRoot, SourceUrl, FunctionNamespace, TimeoutSeconds, RuntimeApiAddress, HttpAddress,
    ];
}

/// <summary>The Lambda runtime environment's variable names, as the shim sets them for the runtime.</summary>
public static class LambdaVariables
{
    public const string FunctionName = "AWS_LAMBDA_FUNCTION_NAME";
    public const string FunctionVersion = "AWS_LAMBDA_FUNCTION_VERSION";
    public const string FunctionMemorySize = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
    public const string Handler = "_HANDLER";
    public const string TaskRoot = "LAMBDA_TASK_ROOT";
    public const string RuntimeDir = "LAMBDA_RUNTIME_DIR";
    public const string RuntimeApi = "AWS_LAMBDA_RUNTIME_API";
    public const string LogGroupName = "AWS_LAMBDA_LOG_GROUP_NAME";
    public const string LogStreamName = "AWS_LAMBDA_LOG_STREAM_NAME";
    public const string InitializationType = "AWS_LAMBDA_INITIALIZATION_TYPE";
    public const string ExecutionEnv = "AWS_EXECUTION_ENV";
    public const string Region = "AWS_REGION";
    public const string DefaultRegion = "AWS_DEFAULT_REGION";
    public const string TraceId = "_X_AMZN_TRACE_ID";
    public const string TimeZone = "TZ";

    /// <summary>Text or JSON: the runtime's log format (a Function's spec.logging.logFormat).</summary>
    public const string LogFormat = "AWS_LAMBDA_LOG_FORMAT";

    /// <summary>JSON format only: the lowest level of the function's logs the runtime prints (spec.logging.applicationLogLevel).</summary>
    public const string LogLevel = "AWS_LAMBDA_LOG_LEVEL";

    /// <summary>
    /// Invocations the runtime may run at once in its one process (a Function's spec.concurrency.perInstance), as Lambda
    /// Managed Instances set it; unset or 1: one at a time. The shim reads it and hands it on to the runtime. docs/concurrency.md.
    /// </summary>
    public const string MaxConcurrency = "AWS_LAMBDA_MAX_CONCURRENCY";

    /// <summary>The upper bound of <see cref="MaxConcurrency"/> (and of spec.concurrency.perInstance for node runtimes).</summary>
    public const int MaxConcurrencyLimit = 64;

    /// <summary>Where the code is in a cluster (the code volume's mount path).</summary>
    public const string ClusterTaskRoot = "/var/task";
}

/// <summary>
/// Environment names a Function's <c>spec.environment</c> may not set (Lambda's reserved variables, widened to whole
/// prefixes so no user value can shadow one the shim or the runtime sets). The operator's validator and local mode's
/// validator both ask <see cref="IsReserved"/>.
/// </summary>
public static class ReservedVariables
{
    public static IReadOnlyList<string> Prefixes { get; } = ["AWS_", "LAMBDA_", ShimVariables.Prefix];

    public static IReadOnlyList<string> Names { get; } = [LambdaVariables.Handler, LambdaVariables.TraceId, LambdaVariables.TimeZone];

    public static bool IsReserved(string name) =>
        Names.Contains(name, StringComparer.Ordinal) || Prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));
}
