using System.Net;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>A function name that exists only in another namespace: the 404 names where it is.</summary>
public sealed class DidYouMeanNamespaceTests
{
    [Theory]
    [InlineData("my-fails", new[] { "team-a/my-fails" })]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:my-fails", new[] { "team-a/my-fails" })]
    [InlineData("team-b/my-fails", new[] { "team-a/my-fails" })]
    [InlineData("shared", new[] { "team-a/shared", "team-b/shared" })]
    [InlineData("nothing-like-it", new string[0])]
    [InlineData("team-a/my-fails", new string[0])]
    public void Same_name_in_other_namespaces_is_suggested(string name, string[] expected)
    {
        var registry = new FunctionRegistry();
        registry.Upsert(new FunctionKey("team-a", "my-fails"), new FunctionSpec());
        registry.Upsert(new FunctionKey("team-a", "shared"), new FunctionSpec());
        registry.Upsert(new FunctionKey("team-b", "shared"), new FunctionSpec());

        Assert.Equal(expected, registry.SameNameInOtherNamespaces(name));
    }

    [Fact]
    public async Task Invoke_of_a_name_found_only_in_another_namespace_returns_404_asking_did_you_mean()
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Add("my-fails", ns: "team-a");

        using var response = await gateway.Client.SendAsync(TestGateway.Invoke("my-fails"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ResourceNotFoundException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("Function not found: arn:aws:lambda:us-east-1:000000000000:function:my-fails (did you mean team-a/my-fails?)", (string?)body["message"]);

        using var get = await gateway.Client.GetAsync("/2015-03-31/functions/my-fails");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.EndsWith("(did you mean team-a/my-fails?)", (string?)JsonNode.Parse(await get.Content.ReadAsStringAsync())!["message"], StringComparison.Ordinal);
    }
}
