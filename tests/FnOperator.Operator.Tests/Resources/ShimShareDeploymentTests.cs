using FnOperator.Operator.Resources;
using FnOperator.Operator.Tests.Controllers;
using k8s.Models;

namespace FnOperator.Operator.Tests.Resources;

/// <summary>
/// The function container's resources as stored in the API test server: the shim's memory share is added on top of
/// memoryMiB (so the function's code gets all of it), while the runtime is told memoryMiB and the CPU follows memoryMiB.
/// </summary>
public sealed class ShimShareDeploymentTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Function_container_memory_is_memoryMiB_plus_the_shim_share_and_the_runtime_is_told_memoryMiB()
    {
        await harness.CreateAsync(TestFunctions.Node("share", change: s => s.MemoryMiB = 256));
        await harness.WaitReadyAsync("share");

        var container = Runtime((await harness.DeploymentAsync("share"))!);
        Assert.Equal(32, PodSpecBuilder.ShimMemoryMiB);
        Assert.Equal("288Mi", container.Resources.Requests["memory"].ToString());
        Assert.Equal("288Mi", container.Resources.Limits["memory"].ToString());
        Assert.Equal("145m", container.Resources.Requests["cpu"].ToString()); // 256 × 1000 / 1769, not 288's 163m
        Assert.Equal("145m", container.Resources.Limits["cpu"].ToString());
        Assert.Equal("256", container.Env.Single(e => e.Name == "AWS_LAMBDA_FUNCTION_MEMORY_SIZE").Value);

        await harness.UpdateAsync("share", s => s.MemoryMiB = 2048);
        await harness.WaitReadyAsync("share", generation: 2);

        container = Runtime((await harness.DeploymentAsync("share"))!);
        Assert.Equal("2080Mi", container.Resources.Limits["memory"].ToString());
        Assert.Equal("2080Mi", container.Resources.Requests["memory"].ToString());
        Assert.Equal("1158m", container.Resources.Limits["cpu"].ToString());
        Assert.Equal("2048", container.Env.Single(e => e.Name == "AWS_LAMBDA_FUNCTION_MEMORY_SIZE").Value);
    }

    private static V1Container Runtime(V1Deployment deployment) =>
        deployment.Spec.Template.Spec.Containers.Single(c => c.Name == Names.RuntimeContainer);
}
