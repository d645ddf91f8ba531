using System.Diagnostics;
using System.Net;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway.Local;
using FnOperator.Gateway.Tests.Local;
using FnOperator.Gateway.Tests.Support;
using FnOperator.Operator.Autoscaling;
using k8s.Models;

namespace FnOperator.Gateway.Tests;

/// <summary>
/// The busy signal of drain-aware scale-in driven by real runtime-shim processes (node runtime): each shim names its
/// instance (<see cref="PullProtocol.InstanceEnv"/>, the pod name in a cluster) on its pull requests; while one runs an
/// invocation the stats the autoscaler reads name exactly that instance as busy, and none once it has answered.
/// </summary>
public sealed class RealShimBusyTests : IDisposable
{
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public async Task The_stats_name_the_real_shim_running_an_invocation_and_not_the_idle_one()
    {
        Assert.True(File.Exists(Local.RepoPaths.ShimDll), $"runtime-shim not built: {Local.RepoPaths.ShimDll}");
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, ProtectQueueInspection = true });
        var spec = new FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 60 };
        var key = gateway.Add("busyshim", spec);
        dir.Write("src/index.js", TempManifests.DefaultNodeHandler);
        var credential = dir.Write("credential", PullProtocol.Credential(TestGateway.ClusterKey, "default", "busyshim", FunctionVersions.Latest));
        var fn = new LocalFunction(new Function { Metadata = new V1ObjectMeta { Name = "busyshim", NamespaceProperty = "default" }, Spec = spec }, Path.Combine(dir.Root, "function.yaml"), Path.Combine(dir.Root, "src"));
        var shims = new[] { "busyshim-latest-aaaaa", "busyshim-latest-bbbbb" }.Select(instance => Start(fn, gateway.BaseAddress, credential, instance)).ToList();
        try
        {
            using var http = new HttpClient();
            var source = new GatewayStatsSource(http, gateway.BaseAddress, TestGateway.ClusterKey);
            async Task<VersionLoad> LoadAsync() =>
                (await source.ReadAsync(CancellationToken.None)).TryGetValue(new VersionKey("default", "busyshim", FunctionVersions.Latest), out var l) ? l : default;

            // Warm both up (the first call of each pays the runtime's start), so both are polling.
            using (var warm = await gateway.Client.SendAsync(TestGateway.Invoke("busyshim", """{"n":0}""")))
            {
                Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
            }

            var running = gateway.Client.SendAsync(TestGateway.Invoke("busyshim", """{"sleepMs":4000}"""));
            VersionLoad load = default;
            await TestWait.UntilAsync(() =>
            {
                load = LoadAsync().GetAwaiter().GetResult();
                return load.InFlight == 1 && load.Busy is { Count: 1 };
            }, TimeSpan.FromSeconds(90));
            Assert.Contains(load.Busy![0], new[] { "busyshim-latest-aaaaa", "busyshim-latest-bbbbb" });

            using var response = await running;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await TestWait.UntilAsync(() => LoadAsync().GetAwaiter().GetResult().Busy is not { Count: > 0 }, TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (var shim in shims)
            {
                if (!shim.HasExited)
                {
                    shim.Kill(entireProcessTree: true);
                    await shim.WaitForExitAsync();
                }

                shim.Dispose();
            }
        }
    }

    private static Process Start(LocalFunction fn, Uri gateway, string credentialFile, string instance)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Local.RepoPaths.ShimDll);
        foreach (var (name, value) in ShimEnvironment.For(fn, gateway.ToString().TrimEnd('/'), "eu-west-1"))
        {
            info.Environment[name] = value;
        }

        info.Environment[PullProtocol.CredentialFileEnv] = credentialFile;
        info.Environment[PullProtocol.InstanceEnv] = instance;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
