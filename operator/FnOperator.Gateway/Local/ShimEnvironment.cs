using System.Globalization;
using FnOperator.Contracts;

namespace FnOperator.Gateway.Local;

/// <summary>
/// The environment a function's runtime-shim starts with (the shim's process contract, <see cref="ShimVariables"/>),
/// plus the function's own variables. The runtime is started by the shim's built-in launcher for its runtime id.
/// </summary>
public static class ShimEnvironment
{
    /// <param name="layersRoot">The function's merged layers (local mode's per-function /opt), when it lists layers.</param>
    public static IReadOnlyDictionary<string, string> For(LocalFunction fn, string sourceUrl, string region, string? layersRoot = null)
    {
        var spec = fn.Function.Spec;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in spec.Environment ?? [])
        {
            env[variable.Name] = variable.Value ?? "";
        }

        env[ShimVariables.SourceUrl] = sourceUrl;
        env[ShimVariables.FunctionNamespace] = fn.Namespace;
        env[LambdaVariables.FunctionName] = fn.Name;
        env[LambdaVariables.FunctionVersion] = FunctionVersions.Latest;
        env[ShimVariables.Runtime] = spec.Runtime ?? "";
        env[LambdaVariables.Handler] = spec.Handler ?? "";
        env[LambdaVariables.TaskRoot] = fn.CodeDirectory;
        env[LambdaVariables.FunctionMemorySize] = spec.MemoryMiB.ToString(CultureInfo.InvariantCulture);
        env[ShimVariables.TimeoutSeconds] = spec.TimeoutSeconds.ToString(CultureInfo.InvariantCulture);
        env[ShimVariables.RuntimeApiAddress] = "127.0.0.1:0";
        env[ShimVariables.HttpAddress] = "127.0.0.1:0";
        env[LambdaVariables.Region] = region;
        if (layersRoot is not null)
        {
            env[ShimVariables.LayersRoot] = layersRoot;
        }

        // spec.concurrency.perInstance > 1 (node only, docs/concurrency.md): the shim runs that many invocations at once.
        if (spec.Concurrency is { PerInstance: > 1 } concurrency)
        {
            env[LambdaVariables.MaxConcurrency] = concurrency.PerInstance.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (name, value) in FnOperator.Api.FunctionLogging.Variables(spec.Logging))
        {
            env[name] = value;
        }

        // The shim stops (and kills its runtime) when local mode is gone, even after a SIGKILL that left no time to stop it.
        env[ShimVariables.ParentPid] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        return env;
    }
}
