namespace FnOperator.Gateway.Local;

/// <summary>Finds the runtime-shim DLL and the dotnet host that runs it.</summary>
public static class ShimLocator
{
    public const string DllName = "FnOperator.RuntimeShim.dll";
    public const string EnvironmentVariable = "FNOP_SHIM_DLL";

    /// <summary>
    /// The shim: the explicit path, else $FNOP_SHIM_DLL, else next to the gateway, else the shim project's build output
    /// in the source tree that holds the gateway or the working folder (Release before Debug). Null when none exists.
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

        candidates.Add(Path.Combine(AppContext.BaseDirectory, DllName));
        foreach (var root in new[] { RepositoryRoot(AppContext.BaseDirectory), RepositoryRoot(Environment.CurrentDirectory) }.OfType<string>())
        {
            foreach (var configuration in new[] { "Release", "Debug" })
            {
                candidates.Add(Path.Combine(root, "runtime-shim", "FnOperator.RuntimeShim", "bin", configuration, "net10.0", DllName));
            }
        }

        return candidates.Where(File.Exists).Select(Path.GetFullPath).FirstOrDefault();
    }

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
