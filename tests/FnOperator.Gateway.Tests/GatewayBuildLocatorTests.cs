namespace FnOperator.Gateway.Tests;

/// <summary>
/// Which gateway build `make run` and the benchmarks run (GatewayBuildLocator; the Makefile's `run` has the same rule):
/// the ReadyToRun publish of `make gateway-r2r` only while no FnOperator.*.dll of the Release output is newer.
/// On a scratch tree with the two folders' files and their write times set by the test.
/// </summary>
public sealed class GatewayBuildLocatorTests : IDisposable
{
    private static readonly DateTime Published = new(2026, 12, 1, 16, 0, 0, DateTimeKind.Utc);
    private readonly string root = Directory.CreateTempSubdirectory("fnop-gwlocator-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void Without_a_ReadyToRun_publish_the_Release_build_runs()
    {
        Release("FnOperator.Gateway.dll", Published);

        Assert.False(GatewayBuildLocator.IsReadyToRunCurrent(root));
        Assert.Equal(GatewayBuildLocator.ReleaseDll(root), GatewayBuildLocator.Find(root));
    }

    [Fact]
    public void A_ReadyToRun_publish_as_new_as_the_Release_build_runs_instead_of_it()
    {
        Release("FnOperator.Gateway.dll", Published);
        Release("FnOperator.Contracts.dll", Published.AddMinutes(-5));
        ReadyToRun(Published);

        Assert.True(GatewayBuildLocator.IsReadyToRunCurrent(root));
        Assert.Equal(GatewayBuildLocator.ReadyToRunDll(root), GatewayBuildLocator.Find(root));
    }

    [Theory]
    [InlineData("FnOperator.Gateway.dll")]
    [InlineData("FnOperator.Contracts.dll")]
    [InlineData("FnOperator.RuntimeShim.dll")]
    public void A_rebuilt_gateway_or_referenced_project_makes_the_ReadyToRun_publish_stale(string rebuilt)
    {
        Release("FnOperator.Gateway.dll", Published.AddMinutes(-1));
        ReadyToRun(Published);
        Release(rebuilt, Published.AddSeconds(1));

        Assert.False(GatewayBuildLocator.IsReadyToRunCurrent(root));
        Assert.Equal(GatewayBuildLocator.ReleaseDll(root), GatewayBuildLocator.Find(root));
    }

    [Fact]
    public void Package_assemblies_and_regenerated_json_files_do_not_make_it_stale()
    {
        // A build regenerates deps.json/runtimeconfig.json after a restore of the other RID; package DLLs keep their own
        // times. Neither is code of this repository (a package or csproj change recompiles the gateway's DLL).
        Release("FnOperator.Gateway.dll", Published.AddMinutes(-1));
        ReadyToRun(Published);
        Release("FnOperator.Gateway.deps.json", Published.AddMinutes(1));
        Release("FnOperator.Gateway.runtimeconfig.json", Published.AddMinutes(1));
        Release("YamlDotNet.dll", Published.AddMinutes(1));

        Assert.True(GatewayBuildLocator.IsReadyToRunCurrent(root));
    }

    private void Release(string name, DateTime written) => Write(Path.Combine(root, GatewayBuildLocator.ReleaseFolder, name), written);

    private void ReadyToRun(DateTime written) => Write(GatewayBuildLocator.ReadyToRunDll(root), written);

    private static void Write(string path, DateTime written)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        File.SetLastWriteTimeUtc(path, written);
    }
}
