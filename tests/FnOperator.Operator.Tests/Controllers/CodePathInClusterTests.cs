using FnOperator.Api;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Resources;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>
/// A Function written for local mode (spec.code.path, a folder on the user's machine) applied to a cluster: the stored
/// status and Event tell the user what a cluster needs instead, and no Deployment is built.
/// </summary>
public sealed class CodePathInClusterTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Code_path_gives_a_CodeReady_condition_and_an_event_pointing_to_configMap_url_and_image()
    {
        await harness.CreateAsync(TestFunctions.Node("from-folder", change: s => s.Code = new FunctionCode { Path = "./src" }));

        await harness.WaitConditionAsync("from-folder", FunctionConditions.CodeReady, "False", FunctionReasons.InvalidCode);
        var status = (await harness.GetAsync("from-folder"))!.Status!;
        Assert.Equal(FunctionSpecValidator.CodePathInCluster, status.Condition(FunctionConditions.CodeReady)!.Message);
        Assert.Contains("kubectl create configmap NAME --from-file=DIR", status.Condition(FunctionConditions.CodeReady)!.Message, StringComparison.Ordinal);
        Assert.Equal("False", status.Condition("Ready")!.Status);
        await harness.WaitEventAsync("from-folder", "Warning", FunctionReasons.InvalidCode);
        Assert.Contains((await harness.EventsAsync("from-folder")), e => e.Reason == FunctionReasons.InvalidCode && e.Message == FunctionSpecValidator.CodePathInCluster);
        Assert.Null(await harness.DeploymentAsync("from-folder"));
    }
}
