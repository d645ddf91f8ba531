using FnOperator.Api;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Which valid Functions local mode can run on this machine, and how. Local mode runs code from
/// <c>spec.code.path</c> with the runtime-shim's built-in node and python runtimes, a <c>bootstrap</c> for
/// provided.*, or an executable .NET assembly that embeds Amazon.Lambda.RuntimeSupport.
/// </summary>
public static class LocalSupport
{
    /// <summary>Null when the function can be served; otherwise the reason it is skipped.</summary>
    public static string? WhyNotServed(Function function, string manifestDirectory)
    {
        var spec = function.Spec;
        if (!string.IsNullOrEmpty(spec.Code.Image))
        {
            return "runs a container image (spec.code.image); local mode runs code from spec.code.path only";
        }

        if (string.IsNullOrEmpty(spec.Code.Path))
        {
            return "its code comes from spec.code.url or spec.code.configMap, which need a cluster; local mode runs spec.code.path";
        }

        if (spec.Layers is { Count: > 0 })
        {
            return "uses layers, which local mode does not serve (deploy it to a cluster)";
        }

        var fromCluster = spec.Environment?.FindIndex(e => e.SecretKeyRef is not null || e.ConfigMapKeyRef is not null) ?? -1;
        if (fromCluster >= 0)
        {
            return $"spec.environment[{fromCluster}] reads a Secret or ConfigMap, which local mode does not have";
        }

        var runtime = spec.Runtime ?? "";
        var codeDir = Path.GetFullPath(Path.Combine(manifestDirectory, spec.Code.Path));
        if (runtime.StartsWith("nodejs", StringComparison.Ordinal))
        {
            return OnPath("node") ? null : "needs Node.js: no 'node' on PATH";
        }

        if (runtime.StartsWith("python", StringComparison.Ordinal))
        {
            return OnPath("python3") ? null : "needs Python: no 'python3' on PATH";
        }

        if (runtime.StartsWith("provided", StringComparison.Ordinal))
        {
            return File.Exists(Path.Combine(codeDir, "bootstrap")) ? null : $"no 'bootstrap' file in {ManifestLoader.DisplayPath(codeDir)}";
        }

        if (runtime.StartsWith("dotnet", StringComparison.Ordinal))
        {
            return WhyNotDotnet(spec.Handler ?? "", codeDir);
        }

        return $"runtime {runtime} has no local runtime; deploy it to a cluster (its AWS base image carries the runtime)";
    }

    /// <summary>
    /// The command that starts the runtime when the shim's built-in choice does not apply (FNOP_RUNTIME_COMMAND),
    /// or null to let the shim choose by runtime id.
    /// </summary>
    public static string? RuntimeCommand(LocalFunction function)
    {
        var runtime = function.Function.Spec.Runtime ?? "";
        return runtime.StartsWith("dotnet", StringComparison.Ordinal)
            ? $"dotnet {Path.Combine(function.CodeDirectory, function.Function.Spec.Handler + ".dll")}"
            : null;
    }

    private static string? WhyNotDotnet(string handler, string codeDir)
    {
        if (handler.Contains("::", StringComparison.Ordinal))
        {
            return $"class-library handler '{handler}' needs the dotnet managed runtime image; in local mode use an executable assembly (handler = assembly name)";
        }

        var assembly = Path.Combine(codeDir, handler + ".dll");
        return File.Exists(assembly)
            ? null
            : $"needs prebuilt code: {ManifestLoader.DisplayPath(assembly)} does not exist (build it with 'dotnet publish -c Release -o {ManifestLoader.DisplayPath(codeDir)}'; Amazon.Lambda.RuntimeSupport must come from nuget.org, or run it as a container image in a cluster)";
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
