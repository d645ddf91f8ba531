using System.Net;
using FnOperator.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;
using static FnOperator.Gateway.Tests.Urls.UrlTestSupport;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>A URL serves $LATEST, or the alias its qualifier names, routed by the alias's weights as the Invoke API does.</summary>
public sealed class UrlQualifierTests
{
    [Fact]
    public async Task Url_with_an_alias_qualifier_runs_the_versions_the_alias_routes_to()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("canary", Spec(new FunctionUrlSpec { Qualifier = "live" }));
        gateway.Functions.PublishVersion(key, "1", Spec());
        gateway.Functions.PublishVersion(key, "2", Spec());
        gateway.Functions.SetAlias(key, "live", new AliasRoute("1", "2", 0.5));
        await using var latest = new TestWorker(gateway.BaseAddress, key, i => TestWorker.Ok(i, "\"latest\""));
        await using var v1 = new TestWorker(gateway.BaseAddress, key, i => TestWorker.Ok(i, "\"v1\""), version: "1");
        await using var v2 = new TestWorker(gateway.BaseAddress, key, i => TestWorker.Ok(i, "\"v2\""), version: "2");

        var answers = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            using var request = Request(gateway, HttpMethod.Get, "canary", "/");
            using var response = await gateway.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answers.Add(await response.Content.ReadAsStringAsync());
        }

        Assert.Contains("\"v1\"", answers);
        Assert.Contains("\"v2\"", answers);
        Assert.DoesNotContain("\"latest\"", answers);
        Assert.Empty(latest.Received);
        Assert.All(v1.Received.Concat(v2.Received), i => Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:canary:live", i.InvokedFunctionArn));
    }

    [Fact]
    public async Task Url_whose_alias_does_not_exist_answers_403_naming_the_qualifier()
    {
        await using var gateway = await StartAsync();
        gateway.Add("orphan", Spec(new FunctionUrlSpec { Qualifier = "gone" }));
        using var request = Request(gateway, HttpMethod.Get, "orphan", "/");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("qualifier 'gone'", (string?)System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!["message"], StringComparison.Ordinal);
    }
}
