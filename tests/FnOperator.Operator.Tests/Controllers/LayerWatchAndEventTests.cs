using FnOperator.Api;
using FnOperator.Operator.Resources;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>
/// The Function controller's watch of Layers (through the Functions-by-layer index) and the Events it records. The
/// dependency poll is set an hour away, so whatever recovers here was re-enqueued by a watch.
/// </summary>
public sealed class LayerWatchAndEventTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync(settings: ["--Operator:DependencyRetry", "01:00:00"]);

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Deployment_creation_and_an_invalid_spec_are_recorded_as_events_on_the_function()
    {
        await harness.CreateAsync(TestFunctions.Node("described"));
        await harness.CreateAsync(TestFunctions.Node("invalid", change: s => s.Runtime = "cobol1.0"));

        await harness.WaitReadyAsync("described");
        await harness.WaitEventAsync("described", "Normal", FunctionReasons.CreatedDeployment);
        await harness.WaitEventAsync("invalid", "Warning", FunctionReasons.UnknownRuntime);
        var events = await harness.EventsAsync("described");
        Assert.Single(events, e => e.Reason == FunctionReasons.CreatedPullCredential);
        var created = Assert.Single(events, e => e.Reason == FunctionReasons.CreatedDeployment);
        Assert.Equal(("Function", (await harness.GetAsync("described"))!.Metadata.Uid), (created.InvolvedObject.Kind, created.InvolvedObject.Uid));
        Assert.Equal("Created Deployment described-latest", created.Message);
        Assert.Equal(1, Assert.Single(await harness.EventsAsync("invalid")).Count);
    }

    [Fact]
    public async Task Missing_code_a_missing_layer_and_an_updated_deployment_are_recorded_as_events_on_the_function()
    {
        await harness.CreateAsync(TestFunctions.Node("nocode", change: s => s.Code = new FunctionCode { ConfigMap = new ConfigMapCodeSource { Name = "nocode-code" } }));
        await harness.CreateAsync(TestFunctions.Node("nolayer", change: s => s.Layers = [new LayerReference { Name = "absent" }]));
        await harness.CreateAsync(TestFunctions.Node("changed"));

        await harness.WaitEventAsync("nocode", "Warning", FunctionReasons.ConfigMapNotFound);
        await harness.WaitEventAsync("nolayer", "Warning", FunctionReasons.LayerNotFound);
        await harness.WaitReadyAsync("changed");
        Assert.DoesNotContain(await harness.EventsAsync("changed"), e => e.Reason == FunctionReasons.UpdatedDeployment);

        await harness.UpdateAsync("changed", s => s.MemoryMiB = 512);

        await harness.WaitEventAsync("changed", "Normal", FunctionReasons.UpdatedDeployment);
        var updated = Assert.Single(await harness.EventsAsync("changed"), e => e.Reason == FunctionReasons.UpdatedDeployment);
        Assert.Equal(("Function", "Updated Deployment changed-latest"), (updated.InvolvedObject.Kind, updated.Message));
        Assert.Contains("nocode-code", Assert.Single(await harness.EventsAsync("nocode"), e => e.Reason == FunctionReasons.ConfigMapNotFound).Message, StringComparison.Ordinal);
    }
}
