using System.Collections;

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

        if (runtime.StartsWith("provided", StringComparison.Ordinal))
        {
            string[] candidates = [Path.Combine(options.TaskRoot, "bootstrap"), Path.Combine(options.LayersRoot, "bootstrap")];
            var bootstrap = candidates.FirstOrDefault(File.Exists)
                ?? throw new RuntimeLaunchException("Runtime.InvalidEntrypoint", $"Couldn't find valid bootstrap(s): [{string.Join(" ", candidates)}]");
            return (bootstrap, []);
        }

        throw new RuntimeLaunchException(
            "Runtime.InvalidEntrypoint",
            $"Runtime '{runtime}' has no built-in launcher in the runtime-shim (nodejs*, python3.*, provided*); set FNOP_RUNTIME_COMMAND.");
    }

    /// <summary>The runtime's environment: the shim's own minus FNOP_* settings, plus the Lambda variables.</summary>
    public static Dictionary<string, string> Environment(ShimOptions options, string runtimeApiAddress, IDictionary inherited)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in inherited)
        {
            if (entry.Key is string key && entry.Value is string value && !key.StartsWith("FNOP_", StringComparison.Ordinal))
            {
                env[key] = value;
            }
        }

        var name = options.FunctionName;
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
        if (options.Runtime.StartsWith("python3", StringComparison.Ordinal))
        {
            env["PYTHONUNBUFFERED"] = "1";
        }

        LayerEnvironment.Apply(env, options);

        return env;
    }

    private static string RequireFile(string path) =>
        File.Exists(path) ? path : throw new RuntimeLaunchException("Runtime.InvalidEntrypoint", $"The runtime bootstrap {path} is missing from the shim's installation.");
}
