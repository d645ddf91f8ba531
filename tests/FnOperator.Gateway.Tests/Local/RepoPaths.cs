namespace FnOperator.Gateway.Tests.Local;

/// <summary>Paths in the repository and its build output, found by walking up to the folder holding FnOperator.sln.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string GatewayDll => Path.Combine(Root, "operator", "FnOperator.Gateway", "bin", "Release", "net10.0", "FnOperator.Gateway.dll");

    /// <summary>The shim local mode launches in tests: the JIT DLL, or FNOP_TEST_SHIM (e.g. the Native AOT binary of `make shim-aot`).</summary>
    public static string ShimDll => Environment.GetEnvironmentVariable("FNOP_TEST_SHIM") is { Length: > 0 } other
        ? other
        : Path.Combine(Root, "runtime-shim", "FnOperator.RuntimeShim", "bin", "Release", "net10.0", "FnOperator.RuntimeShim.dll");

    /// <summary>The build output of tests/FnOperator.DotnetFunctions (class-library .NET functions), as `dotnet build` leaves it.</summary>
    public static string DotnetFunctions => Path.Combine(Root, "tests", "FnOperator.DotnetFunctions", "bin", "Release", "net8.0");

    public static string NodeModules => Path.Combine(Root, "tests", "node", "node_modules");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FnOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("FnOperator.sln not found above " + AppContext.BaseDirectory);
    }
}
