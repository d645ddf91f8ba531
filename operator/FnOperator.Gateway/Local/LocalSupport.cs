using FnOperator.Api;
using FnOperator.Contracts;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Which valid Functions local mode can run on this machine. Local mode runs code from <c>spec.code.path</c> with
/// the runtime-shim's built-in launchers: node and python (the project's bootstraps), .NET (published code), and a
/// <c>bootstrap</c> for provided.*. What each runtime needs comes from the shared list (<see cref="LambdaRuntimes"/>).
/// </summary>
public static class LocalSupport
{
    /// <summary>Null when the function can be served; otherwise the reason it is not.</summary>
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

        var fromCluster = spec.Environment?.FindIndex(e => e.SecretKeyRef is not null || e.ConfigMapKeyRef is not null) ?? -1;
        if (fromCluster >= 0)
        {
            return $"spec.environment[{fromCluster}] reads a Secret or ConfigMap, which local mode does not have";
        }

        var runtime = LambdaRuntimes.Find(spec.Runtime);
        if (runtime is null)
        {
            return $"runtime {spec.Runtime} is not one of the known runtimes ({string.Join(", ", LambdaRuntimes.Ids)})";
        }

        var codeDir = Path.GetFullPath(Path.Combine(manifestDirectory, spec.Code.Path));
        return runtime.Local switch
        {
            LocalLaunch.ShimBootstrap or LocalLaunch.PublishedAssembly when !OnPath(runtime.LocalProgram!) =>
                $"needs {Language(runtime.Family)}: no '{runtime.LocalProgram}' on PATH",
            LocalLaunch.ShimBootstrap => null,
            LocalLaunch.PublishedAssembly => WhyNotPublished(spec.Handler ?? "", codeDir, manifestDirectory),
            // With layers, the bootstrap may come from one (/opt/bootstrap): Layers.Bind checks once they are merged.
            LocalLaunch.CodeBootstrap => File.Exists(Path.Combine(codeDir, "bootstrap")) || spec.Layers is { Count: > 0 } ? null : $"no 'bootstrap' file in {ManifestLoader.DisplayPath(codeDir)}",
            _ => $"runtime {runtime.Id} has no local runtime; deploy it to a cluster (its AWS base image {runtime.Image} carries the runtime)",
        };
    }

    // The shim's .NET launcher loads the handler's assembly from the code folder, so the code must be published there.
    // The hint names the project to publish when one is found beside the manifest (e.g. examples/hello-dotnet/src).
    private static string? WhyNotPublished(string handler, string codeDir, string manifestDirectory)
    {
        var name = LambdaRuntimes.DotNetAssembly(handler);
        var assembly = Path.Combine(codeDir, name + ".dll");
        if (File.Exists(assembly))
        {
            return null;
        }

        var project = FindProject(manifestDirectory, name);
        var publish = project is null
            ? $"dotnet publish <your .csproj> -c Release -o {ManifestLoader.DisplayPath(codeDir)}"
            : $"dotnet publish {ManifestLoader.DisplayPath(project)} -c Release -o {ManifestLoader.DisplayPath(codeDir)}";
        return $"needs prebuilt code: published code {ManifestLoader.DisplayPath(assembly)} does not exist ({publish})";
    }

    /// <summary>
    /// The .csproj under the manifest's folder (3 levels, bin/obj/node_modules and hidden folders skipped, at most 200
    /// folders looked at) named for the handler's assembly, else the only one there; null when none or several.
    /// </summary>
    internal static string? FindProject(string manifestDirectory, string assemblyName)
    {
        var found = new List<string>();
        var pending = new Queue<(string Dir, int Depth)>([(manifestDirectory, 0)]);
        for (var looked = 0; pending.Count > 0 && looked < 200; looked++)
        {
            var (dir, depth) = pending.Dequeue();
            try
            {
                found.AddRange(Directory.EnumerateFiles(dir, "*.csproj"));
                if (depth < 3)
                {
                    foreach (var child in Directory.EnumerateDirectories(dir))
                    {
                        var leaf = Path.GetFileName(child);
                        if (leaf is not ("bin" or "obj" or "node_modules") && !leaf.StartsWith('.'))
                        {
                            pending.Enqueue((child, depth + 1));
                        }
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // An unreadable folder has no project we can name.
            }
        }

        return found.FirstOrDefault(p => string.Equals(Path.GetFileNameWithoutExtension(p), assemblyName, StringComparison.OrdinalIgnoreCase))
            ?? (found.Count == 1 ? found[0] : null);
    }

    private static string Language(RuntimeFamily family) => family switch
    {
        RuntimeFamily.NodeJs => "Node.js",
        RuntimeFamily.DotNet => ".NET",
        _ => family.ToString(),
    };

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
