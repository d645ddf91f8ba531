using System.Collections;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>A runtime that cannot be started at all (Lambda: Runtime.InvalidEntrypoint).</summary>
public sealed class RuntimeLaunchException(string errorType, string message) : Exception(message)
{
    public string ErrorType { get; } = errorType;
}

/// <summary>Chooses the runtime's command line and builds its Lambda environment.</summary>
public static class RuntimeLaunch
{
    public const string SetsidPath = "/usr/bin/setsid";

    /// <summary>Where public.ecr.aws/lambda/dotnet images keep the dotnet host.</summary>
    public const string LambdaImageDotnet = "/var/lang/bin/dotnet";

    /// <summary>The program and arguments that start the function's runtime.</summary>
    public static (string File, IReadOnlyList<string> Arguments) Resolve(ShimOptions options)
    {
        if (options.RuntimeCommand is { } command)
        {
            // A plain command line; the shell runs its last command in place (and the process group covers the rest).
            return ("/bin/sh", ["-c", command]);
        }

        var runtime = options.Runtime;
        if (runtime.StartsWith("nodejs", StringComparison.Ordinal))
        {
            return ("node", [RequireFile(Path.Combine(options.BootstrapDirectory, "node", "index.mjs"))]);
        }

        if (runtime.StartsWith("python3", StringComparison.Ordinal))
        {
            return ("python3", [RequireFile(Path.Combine(options.BootstrapDirectory, "python", "bootstrap.py"))]);
        }

        if (runtime.StartsWith("dotnet", StringComparison.Ordinal))
        {
            // Lambda's .NET base images keep dotnet in /var/lang/bin (also on their PATH); elsewhere it is found on PATH.
            var dotnet = File.Exists(LambdaImageDotnet) ? LambdaImageDotnet : "dotnet";
            var handler = options.Handler;
            if (handler.Length > 0 && !handler.Contains("::", StringComparison.Ordinal))
            {
                // An executable assembly (its Main runs a Runtime API client, e.g. Amazon.Lambda.RuntimeSupport):
                // the handler is the assembly's name, and it runs as a program, as in Lambda.
                var assembly = Path.Combine(options.TaskRoot, handler + ".dll");
                return File.Exists(assembly)
                    ? (dotnet, [assembly])
                    : throw new RuntimeLaunchException("Runtime.InvalidEntrypoint", $"Couldn't find the executable assembly {assembly} (handler '{handler}'; a class library's handler is Assembly::Namespace.Type::Method).");
            }

            // A class library (Assembly::Namespace.Type::Method): the project's managed .NET runtime loads it.
            return (dotnet, [RequireFile(Path.Combine(options.BootstrapDirectory, "dotnet", "FnOperator.DotnetBootstrap.dll"))]);
        }

        if (runtime.StartsWith("provided", StringComparison.Ordinal))
        {
            string[] candidates = [Path.Combine(options.TaskRoot, "bootstrap"), Path.Combine(options.LayersRoot, "bootstrap")];
            var bootstrap = candidates.FirstOrDefault(File.Exists)
                ?? throw new RuntimeLaunchException("Runtime.InvalidEntrypoint", $"Couldn't find valid bootstrap(s): [{string.Join(" ", candidates)}]");
            return (bootstrap, []);
        }

        throw new RuntimeLaunchException(
            "Runtime.InvalidEntrypoint",
            $"Runtime '{runtime}' has no built-in launcher in the runtime-shim (nodejs*, python3.*, dotnet*, provided*); set FNOP_RUNTIME_COMMAND.");
    }

    /// <summary>Names (comma-separated) of the function's own variables among the shim's environment; set by local mode and the operator.</summary>
    public const string FunctionEnvVariable = "FNOP_FUNCTION_ENV";

    /// <summary>Names (comma-separated) of further shim variables the runtime may see: the documented opt-in (local mode's FNOP_PASS_ENV).</summary>
    public const string PassEnvVariable = "FNOP_PASS_ENV";

    /// <summary>
    /// Variables taken from the shim's environment when present, besides the function's own: the search paths and locale an
    /// image defines (as Lambda's do), and the execution role's credentials as a platform injects them (Lambda sets the
    /// first three; IRSA / EKS Pod Identity set the others).
    /// </summary>
    public static readonly IReadOnlySet<string> MinimalInherited = new HashSet<string>(StringComparer.Ordinal)
    {
        "PATH", "LD_LIBRARY_PATH", "LANG", "TZ", "LAMBDA_RUNTIME_DIR", "AWS_EXECUTION_ENV",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    };

    /// <summary>
    /// The runtime's environment, built from nothing (a clean Lambda environment): the Lambda variables, the function's own
    /// (<see cref="FunctionEnvVariable"/>), <see cref="MinimalInherited"/>, and the names listed in <see cref="PassEnvVariable"/>.
    /// Nothing else of the shim's environment reaches the runtime.
    /// </summary>
    public static Dictionary<string, string> Environment(ShimOptions options, string runtimeApiAddress, IDictionary inherited)
    {
        var allowed = new HashSet<string>(MinimalInherited, StringComparer.Ordinal);
        allowed.UnionWith(Names(inherited[FunctionEnvVariable] as string));
        allowed.UnionWith(Names(inherited[PassEnvVariable] as string));
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in inherited)
        {
            if (entry.Key is string key && entry.Value is string value && allowed.Contains(key) && !key.StartsWith("FNOP_", StringComparison.Ordinal))
            {
                env[key] = value;
            }
        }

        var name = options.FunctionName;
        env.TryAdd("PATH", LayerEnvironment.DefaultPath); // LayerEnvironment appends the layers' bin (/opt/bin in a pod)
        env["AWS_LAMBDA_RUNTIME_API"] = runtimeApiAddress;
        env["_HANDLER"] = options.Handler;
        env["LAMBDA_TASK_ROOT"] = options.TaskRoot;
        env.TryAdd("LAMBDA_RUNTIME_DIR", options.BootstrapDirectory);
        env["AWS_LAMBDA_FUNCTION_NAME"] = name;
        env["AWS_LAMBDA_FUNCTION_VERSION"] = options.FunctionVersion;
        env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = options.MemorySizeMb.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["AWS_LAMBDA_LOG_GROUP_NAME"] = $"/aws/lambda/{name}";
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = $"{DateTime.UtcNow:yyyy/MM/dd}/[{options.FunctionVersion}]{System.Environment.MachineName}";
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand";
        env.TryAdd("AWS_EXECUTION_ENV", $"AWS_Lambda_{options.Runtime}");
        env["AWS_REGION"] = options.Region;
        env["AWS_DEFAULT_REGION"] = options.Region;
        env.TryAdd("TZ", ":UTC");
        env.TryAdd("LANG", "en_US.UTF-8");

        // Lambda's advanced logging controls (the function's LoggingConfig), which the bootstraps read.
        if (options.LogFormat is { } format)
        {
            env[LambdaVariables.LogFormat] = format;
        }

        if (options.ApplicationLogLevel is { } level)
        {
            env[LambdaVariables.LogLevel] = level;
        }
        if (options.MaxConcurrency > 1)
        {
            env[LambdaVariables.MaxConcurrency] = options.MaxConcurrency.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (options.Runtime.StartsWith("python3", StringComparison.Ordinal))
        {
            env["PYTHONUNBUFFERED"] = "1";
        }

        LayerEnvironment.Apply(env, options);

        return env;
    }

    private static IEnumerable<string> Names(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string RequireFile(string path) =>
        File.Exists(path) ? path : throw new RuntimeLaunchException("Runtime.InvalidEntrypoint", $"The runtime bootstrap {path} is missing from the shim's installation.");
}
