using System.Collections;
using System.Globalization;
using System.Net;

namespace FnOperator.RuntimeShim;

/// <summary>The shim's configuration, read from environment variables (see docs/runtime-shim.md).</summary>
public sealed record ShimOptions
{
    /// <summary>Lambda's synchronous response limit: 6 MB.</summary>
    public const int DefaultMaxResponseBytes = 6 * 1024 * 1024;

    public Uri? SourceUrl { get; init; }

    public string FunctionNamespace { get; init; } = "default";

    public required string FunctionName { get; init; }

    public string FunctionVersion { get; init; } = "$LATEST";

    public required string Runtime { get; init; }

    public string Handler { get; init; } = "";

    public string TaskRoot { get; init; } = "/var/task";

    public string? RuntimeCommand { get; init; }

    public int MemorySizeMb { get; init; } = 128;

    public double TimeoutSeconds { get; init; } = 3;

    public IPEndPoint RuntimeApiEndpoint { get; init; } = new(IPAddress.Loopback, 9001);

    public IPEndPoint HttpEndpoint { get; init; } = new(IPAddress.Any, 9100);

    public string Region { get; init; } = "us-east-1";

    public int MaxResponseBytes { get; init; } = DefaultMaxResponseBytes;

    /// <summary>"proc" (RSS of the runtime process tree), "cgroup" (memory.current), or "auto" (cgroup when the shim is PID 1).</summary>
    public string MemorySource { get; init; } = "auto";

    /// <summary>Where the project's node and python bootstraps live (next to the shim's own files).</summary>
    public string BootstrapDirectory { get; init; } = Path.Combine(AppContext.BaseDirectory, "bootstraps");

    /// <summary>How long the runtime may take to initialise (until its first `GET next`); Lambda's init phase allows 10 s.</summary>
    public double InitTimeoutSeconds { get; init; } = 10;

    /// <summary>The shim's own log level (stderr), from FNOP_LOG_LEVEL: Trace, Debug, Information, Warning, Error.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>From FNOP_PARENT_PID: the shim stops (as on SIGTERM) once this process is gone. Unset: no watch (cluster mode).</summary>
    public int? ParentPid { get; init; }

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    public TimeSpan InitTimeout => TimeSpan.FromSeconds(InitTimeoutSeconds);

    /// <summary>Reads the options from an environment dictionary; throws <see cref="ShimConfigurationException"/> with every problem found.</summary>
    public static ShimOptions FromEnvironment(IDictionary environment)
    {
        string? Get(string name) => environment[name] is string s && s.Length > 0 ? s : null;
        var problems = new List<string>();

        var name = Get("AWS_LAMBDA_FUNCTION_NAME");
        if (name is null)
        {
            problems.Add("AWS_LAMBDA_FUNCTION_NAME is required");
        }

        var runtime = Get("FNOP_RUNTIME");
        var command = Get("FNOP_RUNTIME_COMMAND");
        if (runtime is null && command is null)
        {
            problems.Add("FNOP_RUNTIME (e.g. nodejs22.x, python3.12, provided.al2023) or FNOP_RUNTIME_COMMAND is required");
        }

        Uri? source = null;
        if (Get("FNOP_SOURCE_URL") is { } url && !Uri.TryCreate(url, UriKind.Absolute, out source))
        {
            problems.Add($"FNOP_SOURCE_URL '{url}' is not an absolute URL");
        }

        var memory = ParseNumber(Get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 128, 1, 10240, problems);
        var timeout = ParseNumber(Get("FNOP_TIMEOUT_SECONDS"), "FNOP_TIMEOUT_SECONDS", 3, 0.05, 900, problems);
        var initTimeout = ParseNumber(Get("FNOP_INIT_TIMEOUT_SECONDS"), "FNOP_INIT_TIMEOUT_SECONDS", 10, 0.05, 900, problems);
        var maxResponse = ParseNumber(Get("FNOP_MAX_RESPONSE_BYTES"), "FNOP_MAX_RESPONSE_BYTES", DefaultMaxResponseBytes, 1, int.MaxValue - 1, problems);
        var api = ParseEndpoint(Get("FNOP_RUNTIME_API_ADDRESS") ?? "127.0.0.1:9001", "FNOP_RUNTIME_API_ADDRESS", problems);
        var http = ParseEndpoint(Get("FNOP_HTTP_ADDRESS") ?? "0.0.0.0:9100", "FNOP_HTTP_ADDRESS", problems);
        var memorySource = Get("FNOP_MEMORY_SOURCE") ?? "auto";
        if (memorySource is not ("auto" or "proc" or "cgroup"))
        {
            problems.Add($"FNOP_MEMORY_SOURCE '{memorySource}' must be auto, proc or cgroup");
        }

        var logLevel = LogLevel.Information;
        if (Get("FNOP_LOG_LEVEL") is { } level && !Enum.TryParse(level, ignoreCase: true, out logLevel))
        {
            problems.Add($"FNOP_LOG_LEVEL '{level}' must be Trace, Debug, Information, Warning or Error");
        }

        var parentPid = ParseParentPid(Get("FNOP_PARENT_PID"), problems);
        if (problems.Count > 0)
        {
            throw new ShimConfigurationException("Invalid runtime-shim configuration: " + string.Join("; ", problems) + ".");
        }

        return new ShimOptions
        {
            SourceUrl = source,
            FunctionNamespace = Get("FNOP_FUNCTION_NAMESPACE") ?? "default",
            FunctionName = name!,
            FunctionVersion = Get("AWS_LAMBDA_FUNCTION_VERSION") ?? "$LATEST",
            Runtime = runtime ?? "provided",
            Handler = Get("_HANDLER") ?? "",
            TaskRoot = Get("LAMBDA_TASK_ROOT") ?? "/var/task",
            RuntimeCommand = command,
            MemorySizeMb = (int)memory,
            TimeoutSeconds = timeout,
            InitTimeoutSeconds = initTimeout,
            RuntimeApiEndpoint = api,
            HttpEndpoint = http,
            Region = Get("AWS_REGION") ?? Get("AWS_DEFAULT_REGION") ?? "us-east-1",
            MaxResponseBytes = (int)maxResponse,
            MemorySource = memorySource,
            LogLevel = logLevel,
            ParentPid = parentPid,
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
            problems.Add($"FNOP_PARENT_PID '{value}' must be a process id (a positive integer)");
            return null;
        }

        if (ParentWatch.Identify(pid) is null)
        {
            problems.Add($"FNOP_PARENT_PID '{value}' is not a running process");
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
