using System.Globalization;

namespace FnOperator.Gateway.Local;

/// <summary>The environment a function's runtime-shim starts with (the shim's process contract), plus the function's own variables.</summary>
public static class ShimEnvironment
{
    public static IReadOnlyDictionary<string, string> For(LocalFunction fn, string sourceUrl, string region)
    {
        var spec = fn.Function.Spec;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in spec.Environment ?? [])
        {
            env[variable.Name] = variable.Value ?? "";
        }

        env["FNOP_SOURCE_URL"] = sourceUrl;
        env["FNOP_FUNCTION_NAMESPACE"] = fn.Namespace;
        env["AWS_LAMBDA_FUNCTION_NAME"] = fn.Name;
        env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST";
        env["FNOP_RUNTIME"] = spec.Runtime ?? "";
        env["_HANDLER"] = spec.Handler ?? "";
        env["LAMBDA_TASK_ROOT"] = fn.CodeDirectory;
        env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = spec.MemoryMiB.ToString(CultureInfo.InvariantCulture);
        env["FNOP_TIMEOUT_SECONDS"] = spec.TimeoutSeconds.ToString(CultureInfo.InvariantCulture);
        env["FNOP_RUNTIME_API_ADDRESS"] = "127.0.0.1:0";
        env["FNOP_HTTP_ADDRESS"] = "127.0.0.1:0";
        env["AWS_REGION"] = region;
        env["AWS_DEFAULT_REGION"] = region;

        // The shim stops (and kills its runtime) when local mode is gone, even after a SIGKILL that left no time to stop it.
        env["FNOP_PARENT_PID"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        if (LocalSupport.RuntimeCommand(fn) is { } command)
        {
            env["FNOP_RUNTIME_COMMAND"] = command;
        }

        return env;
    }
}
