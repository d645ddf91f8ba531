using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Runtime;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Layers;

/// <summary>Lambda's 250 MB unzipped limit counts the function's own code with its layers (url and configMap code).</summary>
public sealed class LayerCodeSizeTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;
    private ZipServer zips = null!;

    public async Task InitializeAsync()
    {
        zips = await ZipServer.StartAsync();
        harness = await OperatorHarness.StartAsync(settings: ["--Operator:DependencyRetry", "01:00:00"]);
    }

    public async Task DisposeAsync()
    {
        await harness.DisposeAsync();
        await zips.DisposeAsync();
    }

    private async Task LayerAsync(string name, long unzippedBytes)
    {
        await harness.CreateLayerAsync(name, LayerObjects.Url(zips.Serve(name + ".zip", ZipServer.ZeroZip(unzippedBytes))));
        await harness.WaitLayerAsync(name, l => l.Status!.LatestVersion == 1, "version 1");
    }

    [Fact]
    public async Task Url_code_that_with_its_layer_passes_250_mb_is_LayersTooLarge_with_both_sizes_and_no_deployment()
    {
        const long layerBytes = 130L * 1024 * 1024;
        const long codeBytes = 130L * 1024 * 1024;
        await LayerAsync("big-lib", layerBytes);
        var code = zips.Serve("big-code.zip", ZipServer.ZeroZip(codeBytes));
        await harness.CreateAsync(TestFunctions.Node("heavy", change: s =>
        {
            s.Code = new FunctionCode { Url = code.Url, Sha256 = code.Sha256 };
            s.Layers = [new LayerReference { Name = "big-lib" }];
        }));

        await harness.WaitConditionAsync("heavy", "CodeReady", ConditionStatus.False, FunctionReasons.LayersTooLarge);
        var message = (await harness.GetAsync("heavy"))!.Status!.Condition("CodeReady")!.Message;
        Assert.Contains($"the function's code ({codeBytes} bytes) with its 1 layers ({layerBytes} bytes) together is {codeBytes + layerBytes} bytes", message, StringComparison.Ordinal);
        Assert.Contains(LayerLimits.MaxUnzippedBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), message, StringComparison.Ordinal);
        Assert.Null(await harness.DeploymentAsync("heavy"));
        await harness.WaitEventAsync("heavy", "Warning", FunctionReasons.LayersTooLarge);

        // Smaller code fits: the same layer, a new code archive, and the function deploys. Each archive was fetched once.
        var small = zips.Serve("small-code.zip", ZipServer.Zip(("index.js", "exports.handler = async () => 1;")));
        await harness.UpdateAsync("heavy", s => s.Code = new FunctionCode { Url = small.Url, Sha256 = small.Sha256 });
        await harness.WaitReadyAsync("heavy", generation: 2);
        Assert.Equal(1, zips.Requests["big-code.zip"]);
        Assert.Equal(1, zips.Requests["small-code.zip"]);
    }

    [Fact]
    public async Task Config_map_code_counts_its_bytes_with_the_layers()
    {
        await LayerAsync("nearly-full", LayerLimits.MaxUnzippedBytes - 10);
        await harness.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "cm-code" },
            Data = new Dictionary<string, string> { ["index.js"] = "exports.handler=1;" }, // 18 bytes: 8 too many
        }, "default");
        await harness.CreateAsync(TestFunctions.Node("cm", change: s =>
        {
            s.Code = new FunctionCode { ConfigMap = new ConfigMapCodeSource { Name = "cm-code" } };
            s.Layers = [new LayerReference { Name = "nearly-full" }];
        }));

        await harness.WaitConditionAsync("cm", "CodeReady", ConditionStatus.False, FunctionReasons.LayersTooLarge);
        Assert.Contains("the function's code (18 bytes)", (await harness.GetAsync("cm"))!.Status!.Condition("CodeReady")!.Message, StringComparison.Ordinal);
        Assert.Null(await harness.DeploymentAsync("cm"));
    }

    [Fact]
    public async Task Url_code_that_cannot_be_measured_counts_only_the_layers_and_says_so()
    {
        await LayerAsync("small-lib", 1024);
        await harness.CreateAsync(TestFunctions.Node("unmeasured", change: s =>
        {
            s.Code = new FunctionCode { Url = zips.BaseUrl + "/missing.zip", Sha256 = TestFunctions.Sha };
            s.Layers = [new LayerReference { Name = "small-lib" }];
        }));

        await harness.WaitReadyAsync("unmeasured");
        await harness.WaitEventAsync("unmeasured", "Normal", LayerResolver.CodeSizeUnknown);
        var note = (await harness.EventsAsync("unmeasured")).First(e => e.Reason == LayerResolver.CodeSizeUnknown).Message;
        Assert.Contains("answered 404", note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Url_code_whose_checksum_differs_is_InvalidCode_before_any_pod_tries_it()
    {
        await LayerAsync("lib", 1024);
        var code = zips.Serve("code.zip", ZipServer.Zip(("index.js", "exports.handler = 1;")));
        await harness.CreateAsync(TestFunctions.Node("forged", change: s =>
        {
            s.Code = new FunctionCode { Url = code.Url, Sha256 = TestFunctions.Sha };
            s.Layers = [new LayerReference { Name = "lib" }];
        }));

        await harness.WaitConditionAsync("forged", "CodeReady", ConditionStatus.False, FunctionReasons.InvalidCode);
        Assert.Contains(code.Sha256, (await harness.GetAsync("forged"))!.Status!.Condition("CodeReady")!.Message, StringComparison.Ordinal);
        Assert.Null(await harness.DeploymentAsync("forged"));
    }
}
