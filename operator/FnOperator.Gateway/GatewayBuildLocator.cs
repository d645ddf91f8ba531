namespace FnOperator.Gateway;

/// <summary>
/// Which build of the gateway to run from a source tree: the ReadyToRun publish of `make gateway-r2r`
/// (operator/FnOperator.Gateway/bin/r2r/) while it is not older than the Release build, else the Release build
/// (bin/Release/net10.0/). The same rule as the Makefile's `make run` and as <see cref="Local.ShimLocator"/> for the
/// Native AOT shim: a rebuilt Release output wins, so a stale ReadyToRun gateway never runs. The benchmarks use it.
/// </summary>
public static class GatewayBuildLocator
{
    public const string DllName = "FnOperator.Gateway.dll";

    /// <summary>The ReadyToRun publish folder, relative to the repository root.</summary>
    public static readonly string ReadyToRunFolder = Path.Combine("operator", "FnOperator.Gateway", "bin", "r2r");

    /// <summary>The Release build's output folder, relative to the repository root.</summary>
    public static readonly string ReleaseFolder = Path.Combine("operator", "FnOperator.Gateway", "bin", "Release", "net10.0");

    /// <summary>The Release build's gateway DLL (run by the dotnet host, JIT-compiled).</summary>
    public static string ReleaseDll(string repositoryRoot) => Path.Combine(repositoryRoot, ReleaseFolder, DllName);

    /// <summary>The ReadyToRun gateway DLL (run by the dotnet host, precompiled), whether or not it exists.</summary>
    public static string ReadyToRunDll(string repositoryRoot) => Path.Combine(repositoryRoot, ReadyToRunFolder, DllName);

    /// <summary>
    /// True when the ReadyToRun gateway exists and is at least as new as every FnOperator.*.dll of the Release output
    /// (the gateway and the projects it references: a change to any of them rebuilds one of those files). `make
    /// gateway-r2r` builds Release first and touches the published DLL last, so right after it this is true.
    /// </summary>
    public static bool IsReadyToRunCurrent(string repositoryRoot)
    {
        var r2r = ReadyToRunDll(repositoryRoot);
        if (!File.Exists(r2r))
        {
            return false;
        }

        var release = Path.Combine(repositoryRoot, ReleaseFolder);
        if (!Directory.Exists(release))
        {
            return true;
        }

        var published = File.GetLastWriteTimeUtc(r2r);
        return Directory.EnumerateFiles(release, "FnOperator.*.dll").All(file => File.GetLastWriteTimeUtc(file) <= published);
    }

    /// <summary>The gateway local mode should run: the current ReadyToRun build, else the Release DLL.</summary>
    public static string Find(string repositoryRoot) =>
        IsReadyToRunCurrent(repositoryRoot) ? ReadyToRunDll(repositoryRoot) : ReleaseDll(repositoryRoot);
}
