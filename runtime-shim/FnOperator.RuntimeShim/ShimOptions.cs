using System.Collections;
using System.Globalization;
using System.Net;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>The shim's configuration, read from environment variables (see docs/runtime-shim.md).</summary>
public sealed record ShimOptions
{
    /// <summary>Lambda's synchronous response limit: 6 MB.</summary>
    public const int DefaultMaxResponseBytes = 6 * 1024 * 1024;

    public Uri? SourceUrl { get; init; }

    public string FunctionNamespace { get; init; } = "default";

    public required string FunctionName { get; init; }

    public string FunctionVersion { get; init; } = FunctionVersions.Latest;

    public required string Runtime { get; init; }

    public string Handler { get; init; } = "";

    public string TaskRoot { get; init; } = LambdaVariables.ClusterTaskRoot;

    public string? RuntimeCommand { get; init; }

    public int MemorySizeMb { get; init; } = 128;

    public double TimeoutSeconds { get; init; } = 3;

    public IPEndPoint RuntimeApiEndpoint { get; init; } = new(IPAddress.Loopback, 9001);

    public IPEndPoint HttpEndpoint { get; init; } = new(IPAddress.Any, 9100);

    public string Region { get; init; } = "us-east-1";

    public int MaxResponseBytes { get; init; } = DefaultMaxResponseBytes;

    /// <summary>"proc" (the sandbox's RSS only), "cgroup" (also the cgroup's OOM kills, memory.events), or "auto" (cgroup when the shim is PID 1).</summary>
    public string MemorySource { get; init; } = "auto";

    /// <summary>Where the project's node and python bootstraps live (next to the shim's own files).</summary>
    public string BootstrapDirectory { get; init; } = Path.Combine(AppContext.BaseDirectory, "bootstraps");

    /// <summary>How long the runtime may take to initialise (until its first `GET next`); Lambda's init phase allows 10 s.</summary>
    public double InitTimeoutSeconds { get; init; } = 10;

    /// <summary>The shim's own log level (stderr), from FNOP_LOG_LEVEL: Trace, Debug, Information, Warning, Error.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>From FNOP_PARENT_PID: the shim stops (as on SIGTERM) once this process is gone. Unset: no watch (cluster mode).</summary>
    public int? ParentPid { get; init; }

    /// <summary>From FNOP_LAYERS_ROOT: the merged layers (Lambda's /opt); /opt when unset.</summary>
    public string LayersRoot { get; init; } = ShimVariables.ClusterLayersRoot;

    /// <summary>The function's log format (AWS_LAMBDA_LOG_FORMAT, Text or JSON), handed on to the runtime as Lambda sets it.</summary>
    public string? LogFormat { get; init; }

    /// <summary>The function's application log level (AWS_LAMBDA_LOG_LEVEL), handed on to the runtime.</summary>
    public string? ApplicationLogLevel { get; init; }

    /// <summary>From AWS_LAMBDA_MAX_CONCURRENCY: invocations the runtime runs at once (1: Lambda's classic model). docs/concurrency.md.</summary>
    public int MaxConcurrency { get; init; } = 1;

    /// <summary>
    /// From FNOP_RUNTIME_API_SERVER: which server carries the Runtime API, "raw" (the shim's own HTTP/1.1 server,
    /// <see cref="RuntimeApiServer"/>) or "kestrel" (A/B, fallback). docs/runtime-shim.md, "Runtime API".
    /// </summary>
    public string RuntimeApiServer { get; init; } = RawRuntimeApiServer;

    public const string RuntimeApiServerVariable = "FNOP_RUNTIME_API_SERVER";
    public const string RawRuntimeApiServer = "raw";
    public const string KestrelRuntimeApiServer = "kestrel";

    /// <summary>
    /// The raw Runtime API server's limits (<see cref="RuntimeApiServerLimits"/>, Kestrel's defaults). Not read from the
    /// environment: a shim process always has the defaults; an in-process host (the tests) may set others.
    /// </summary>
    public RuntimeApiServerLimits RuntimeApiLimits { get; init; } = new();

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    public TimeSpan InitTimeout => TimeSpan.FromSeconds(InitTimeoutSeconds);

    /// <summary>Reads the options from an environment dictionary; throws <see cref="ShimConfigurationException"/> with every problem found.</summary>
    public static ShimOptions FromEnvironment(IDictionary environment)
    {
        string? Get(string name) => environment[name] is string s && s.Length > 0 ? s : null;
        var problems = new List<string>();

        var name = Get(LambdaVariables.FunctionName);
        if (name is null)
        {
            problems.Add($"{LambdaVariables.FunctionName} is required");
        }

        var runtime = Get(ShimVariables.Runtime);
        var command = Get(ShimVariables.RuntimeCommand);
        if (runtime is null && command is null)
        {
            problems.Add($"{ShimVariables.Runtime} (e.g. nodejs22.x, python3.12, provided.al2023) or {ShimVariables.RuntimeCommand} is required");
        }

        Uri? source = null;
        if (Get(ShimVariables.SourceUrl) is { } url && !Uri.TryCreate(url, UriKind.Absolute, out source))
        {
            problems.Add($"{ShimVariables.SourceUrl} '{url}' is not an absolute URL");
        }

        var memory = ParseNumber(Get(LambdaVariables.FunctionMemorySize), LambdaVariables.FunctionMemorySize, 128, 1, 10240, problems);
        var timeout = ParseNumber(Get(ShimVariables.TimeoutSeconds), ShimVariables.TimeoutSeconds, 3, 0.05, 900, problems);
        var initTimeout = ParseNumber(Get(ShimVariables.InitTimeoutSeconds), ShimVariables.InitTimeoutSeconds, 10, 0.05, 900, problems);
        var maxResponse = ParseNumber(Get(ShimVariables.MaxResponseBytes), ShimVariables.MaxResponseBytes, DefaultMaxResponseBytes, 1, int.MaxValue - 1, problems);
        var concurrency = ParseNumber(Get(LambdaVariables.MaxConcurrency), LambdaVariables.MaxConcurrency, 1, 1, LambdaVariables.MaxConcurrencyLimit, problems);
        var api = ParseEndpoint(Get(ShimVariables.RuntimeApiAddress) ?? ShimVariables.ClusterRuntimeApiAddress, ShimVariables.RuntimeApiAddress, problems);
        var http = ParseEndpoint(Get(ShimVariables.HttpAddress) ?? "0.0.0.0:9100", ShimVariables.HttpAddress, problems);
        var memorySource = Get(ShimVariables.MemorySource) ?? "auto";
        if (memorySource is not ("auto" or "proc" or "cgroup"))
        {
            problems.Add($"{ShimVariables.MemorySource} '{memorySource}' must be auto, proc or cgroup");
        }

        var logLevel = LogLevel.Information;
        if (Get(ShimVariables.LogLevel) is { } level && !Enum.TryParse(level, ignoreCase: true, out logLevel))
        {
            problems.Add($"{ShimVariables.LogLevel} '{level}' must be Trace, Debug, Information, Warning or Error");
        }

        var apiServer = (Get(RuntimeApiServerVariable) ?? RawRuntimeApiServer).ToLowerInvariant();
        if (apiServer is not (RawRuntimeApiServer or KestrelRuntimeApiServer))
        {
            problems.Add($"{RuntimeApiServerVariable} '{Get(RuntimeApiServerVariable)}' must be raw or kestrel");
        }

        var parentPid = ParseParentPid(Get(ShimVariables.ParentPid), problems);
        if (problems.Count > 0)
        {
            throw new ShimConfigurationException("Invalid runtime-shim configuration: " + string.Join("; ", problems) + ".");
        }

        return new ShimOptions
        {
            SourceUrl = source,
            FunctionNamespace = Get(ShimVariables.FunctionNamespace) ?? "default",
            FunctionName = name!,
            FunctionVersion = Get(LambdaVariables.FunctionVersion) ?? FunctionVersions.Latest,
            Runtime = runtime ?? "provided",
            Handler = Get(LambdaVariables.Handler) ?? "",
            TaskRoot = Get(LambdaVariables.TaskRoot) ?? LambdaVariables.ClusterTaskRoot,
            RuntimeCommand = command,
            MemorySizeMb = (int)memory,
            TimeoutSeconds = timeout,
            InitTimeoutSeconds = initTimeout,
            RuntimeApiEndpoint = api,
            HttpEndpoint = http,
            Region = Get(LambdaVariables.Region) ?? Get(LambdaVariables.DefaultRegion) ?? "us-east-1",
            MaxResponseBytes = (int)maxResponse,
            MemorySource = memorySource,
            LogLevel = logLevel,
            ParentPid = parentPid,
            LayersRoot = Get(ShimVariables.LayersRoot) ?? ShimVariables.ClusterLayersRoot,
            LogFormat = Get(LambdaVariables.LogFormat),
            ApplicationLogLevel = Get(LambdaVariables.LogLevel),
            MaxConcurrency = (int)concurrency,
            RuntimeApiServer = apiServer,
        };
    }

    private static double ParseNumber(string? value, string name, double fallback, double min, double max, List<string> problems)
    {
        if (value is null)
        {
            return fallback;
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max)
        {
            return number;
        }

        problems.Add($"{name} '{value}' must be a number between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}");
        return fallback;
    }

    private static int? ParseParentPid(string? value, List<string> problems)
    {
        if (value is null)
        {
            return null;
        }

        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid < 1)
        {
            problems.Add($"{ShimVariables.ParentPid} '{value}' must be a process id (a positive integer)");
            return null;
        }

        if (ParentWatch.Identify(pid) is null)
        {
            problems.Add($"{ShimVariables.ParentPid} '{value}' is not a running process");
            return null;
        }

        return pid;
    }

    private static IPEndPoint ParseEndpoint(string value, string name, List<string> problems)
    {
        var colon = value.LastIndexOf(':');
        if (colon > 0 && int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535)
        {
            var host = value[..colon].Trim('[', ']');
            if (host == "localhost")
            {
                return new IPEndPoint(IPAddress.Loopback, port);
            }

            if (IPAddress.TryParse(host, out var address))
            {
                return new IPEndPoint(address, port);
            }
        }

        problems.Add($"{name} '{value}' must be <ip>:<port> (port 0 picks a free port)");
        return new IPEndPoint(IPAddress.Loopback, 0);
    }
}

public sealed class ShimConfigurationException(string message) : Exception(message);
