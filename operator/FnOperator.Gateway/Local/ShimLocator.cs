namespace FnOperator.Gateway.Local;

/// <summary>Finds the runtime-shim (the Native AOT executable or the JIT-built DLL) and the dotnet host that runs a DLL.</summary>
public static class ShimLocator
{
    public const string DllName = "FnOperator.RuntimeShim.dll";
    public const string EnvironmentVariable = "FNOP_SHIM_DLL";

    /// <summary>The Native AOT shim's file name (an executable; `make shim-aot` publishes it to runtime-shim/FnOperator.RuntimeShim/bin/aot/).</summary>
    public const string AotName = "FnOperator.RuntimeShim";

    /// <summary>
    /// The shim: the explicit path, else $FNOP_SHIM_DLL, else the Native AOT binary of the source tree that holds the
    /// gateway or the working folder when it is not older than that tree's Release DLL, else next to the gateway, else
    /// the shim project's Release, then Debug output. Null when none exists.
    /// </summary>
    public static string? Find(string? explicitPath)
    {
        var candidates = new List<string>();
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath) ? Path.GetFullPath(explicitPath) : null;
        }

        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnv)
        {
            candidates.Add(fromEnv);
        }

        // The gateway references the shim (in-process instances), so its JIT DLL is always next to the gateway: in a
        // source tree the Native AOT shim of `make shim-aot` comes first when it is at least as new as the JIT build.
        var roots = new[] { RepositoryRoot(AppContext.BaseDirectory), RepositoryRoot(Environment.CurrentDirectory) }.OfType<string>().ToList();
        foreach (var root in roots)
        {
            var project = Path.Combine(root, "runtime-shim", "FnOperator.RuntimeShim");
            var release = Path.Combine(project, "bin", "Release", "net10.0", DllName);

            // The Native AOT shim of `make shim-aot`, when it is at least as new as the JIT build (a stale one would run old code).
            var aot = Path.Combine(project, "bin", "aot", AotName);
            if (File.Exists(aot) && (!File.Exists(release) || File.GetLastWriteTimeUtc(aot) >= File.GetLastWriteTimeUtc(release)))
            {
                candidates.Add(aot);
            }
        }

        candidates.Add(Path.Combine(AppContext.BaseDirectory, DllName));
        foreach (var root in roots)
        {
            var project = Path.Combine(root, "runtime-shim", "FnOperator.RuntimeShim");
            foreach (var configuration in new[] { "Release", "Debug" })
            {
                candidates.Add(Path.Combine(project, "bin", configuration, "net10.0", DllName));
            }
        }

        return candidates.Where(File.Exists).Select(Path.GetFullPath).FirstOrDefault();
    }

    /// <summary>True for a Native AOT shim (run directly), false for the JIT-built DLL (run by the dotnet host).</summary>
    public static bool IsNative(string shim) => !shim.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);

    /// <summary>The dotnet host running this process (so shims use the same runtime), else "dotnet" from PATH.</summary>
    public static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    private static string? RepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FnOperator.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
