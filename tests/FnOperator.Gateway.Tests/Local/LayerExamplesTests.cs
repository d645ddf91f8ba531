using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>examples/layer and examples/custom-runtime-layer in local mode (as <c>make run</c> serves examples/), invoked with the AWS CLI v2.</summary>
public sealed class LayerExamplesTests(ExamplesFixture fixture) : IClassFixture<ExamplesFixture>
{
    [Theory]
    [InlineData("hello-layer", "Hello, Ada, from the greeting-lib layer!")]
    [InlineData("hello-layer-runtime", "Hello from a layer runtime, Ada!")]
    public async Task Layer_examples_answer_through_their_layers(string function, string message)
    {
        var result = await AwsCli.InvokeAsync(fixture.Local.Endpoint, function, """{"name":"Ada"}""");

        Assert.True(result.ExitCode == 0, result.Stderr + "\n" + fixture.Local.Output);
        Assert.True(result.Json["FunctionError"] is null, result.OutFile);
        Assert.Equal(message, (string?)JsonNode.Parse(result.OutFile)!["message"]);
    }
}
