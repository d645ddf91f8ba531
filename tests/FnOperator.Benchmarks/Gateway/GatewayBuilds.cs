using FnOperator.Gateway;

namespace FnOperator.Benchmarks.Gateway;

/// <summary>
/// The gateway build(s) a local-mode benchmark target runs, from FNOP_BENCH_GATEWAY:
/// <c>auto</c> (default: what `make run` runs, the ReadyToRun publish of `make gateway-r2r` while it is current, else
/// the Release build; <see cref="GatewayBuildLocator"/>), <c>jit</c> (the Release build), <c>r2r</c> (the ReadyToRun
/// publish, even if stale), <c>both</c> (each local-mode target twice in the same run: JIT, then ReadyToRun), or a path
/// to a FnOperator.Gateway.dll (e.g. another publish to compare with). Targets run one after the other, so
/// <see cref="Current"/> is the build of the target being started.
/// </summary>
public static class GatewayBuilds
{
    public sealed record Build(string Label, string Dll);

    /// <summary>The build the next local-mode target starts (set by the benchmark before each target).</summary>
    public static Build Current { get; set; } = Selected()[0];

    public static IReadOnlyList<Build> Selected()
    {
        var root = RepositoryRoot();
        var jit = new Build("JIT gateway", GatewayBuildLocator.ReleaseDll(root));
        var r2r = new Build("R2R gateway", GatewayBuildLocator.ReadyToRunDll(root));
        var choice = Environment.GetEnvironmentVariable("FNOP_BENCH_GATEWAY") is { Length: > 0 } value ? value : "auto";
        return choice.ToLowerInvariant() switch
        {
            "auto" => [GatewayBuildLocator.IsReadyToRunCurrent(root) ? r2r : jit],
            "jit" => [jit],
            "r2r" => [Existing(r2r)],
            "both" => [jit, Existing(r2r)],
            _ when choice.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) => [Existing(new Build($"gateway {choice}", Path.GetFullPath(choice)))],
            _ => throw new InvalidOperationException($"FNOP_BENCH_GATEWAY: '{choice}' is none of auto, jit, r2r, both or a path to FnOperator.Gateway.dll"),
        };
    }

    /// <summary>A target's display name with the gateway build inside its parentheses: "FnOperator (AOT shim, R2R gateway)".</summary>
    public static string Name(string name) =>
        name.EndsWith(')') ? $"{name[..^1]}, {Current.Label})" : $"{name} ({Current.Label})";

    private static Build Existing(Build build) =>
        File.Exists(build.Dll) ? build : throw new InvalidOperationException($"FNOP_BENCH_GATEWAY: {build.Dll} does not exist (`make gateway-r2r` publishes the ReadyToRun gateway)");

    private static string RepositoryRoot()
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
