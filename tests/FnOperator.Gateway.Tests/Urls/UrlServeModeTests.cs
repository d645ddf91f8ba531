using System.Collections;
using System.Net;
using FnOperator.Api;
using FnOperator.Gateway.Cluster;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;
using FnOperator.KubeApiServer;
using k8s;
using k8s.Models;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>Serve mode: URLs for the watched Functions that have spec.url, on the domain from Gateway__UrlDomain.</summary>
public sealed class UrlServeModeTests
{
    private static Function NewFunction(string ns, string name, FunctionUrlSpec? url) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3, Code = new FunctionCode { Image = "example/fn:1" }, Url = url },
    };

    [Fact]
    public async Task Serve_mode_serves_urls_of_watched_functions_with_spec_url_and_follows_a_url_removed()
    {
        await using var server = await KubeApiTestServer.StartAsync(new KubeApiServerOptions { CrdDirectory = Path.Combine(RepoPaths.Root, "crds") });
        var client = server.CreateClient();
        await Create(client, NewFunction("team", "web", new FunctionUrlSpec { PayloadFormat = FunctionUrls.Format10 }));
        await Create(client, NewFunction("team", "internal", null));
        var keyFile = WriteKey();
        var options = GatewayEnvironment.Apply(TestGateway.FastOptions, new Hashtable
        {
            ["Gateway__ClusterKeyFile"] = keyFile,
            ["Gateway__UrlDomain"] = "Fn.Example.COM.",
        }, out var errors);
        File.Delete(keyFile);
        Assert.Empty(errors);
        var app = GatewayApp.Build(options, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton(client);
            FunctionFeed.Register(builder, ns: null);
        });
        await app.StartAsync();
        try
        {
            var functions = app.Services.GetRequiredService<FunctionRegistry>();
            var address = GatewayApp.Addresses(app)[0];
            using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
            await TestWait.UntilAsync(() => functions.Contains(new FunctionKey("team", "web")) && functions.Contains(new FunctionKey("team", "internal")));
            var key = new FunctionKey("team", "web");
            await using var worker = new TestWorker(address, key, i => TestWorker.Ok(i, """{"statusCode":200,"body":"from web"}"""));

            using var hostRequest = new HttpRequestMessage(HttpMethod.Get, "/x");
            hostRequest.Headers.Host = "web.team.fn.example.com";
            using var host = await http.SendAsync(hostRequest);
            using var internalRequest = new HttpRequestMessage(HttpMethod.Get, "/");
            internalRequest.Headers.Host = "internal.team.fn.example.com";
            using var noUrl = await http.SendAsync(internalRequest);

            Assert.Equal("fn.example.com", options.UrlDomain);
            Assert.Equal("from web", await host.Content.ReadAsStringAsync());
            Assert.Equal("1.0", (string?)System.Text.Json.Nodes.JsonNode.Parse(worker.Received.Last().Payload)!["version"]);
            Assert.Equal(HttpStatusCode.Forbidden, noUrl.StatusCode);

            // spec.url removed: the URL goes away with the next watch event.
            var current = await client.CustomObjects.GetNamespacedCustomObjectAsync<Function>(ApiGroup.Group, ApiGroup.Version, "team", Function.Plural, "web");
            var updated = NewFunction("team", "web", null);
            updated.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
            await client.CustomObjects.ReplaceNamespacedCustomObjectAsync(updated, ApiGroup.Group, ApiGroup.Version, "team", Function.Plural, "web");
            await TestWait.UntilAsync(() => functions.TryGet(key, out var spec) && spec.Url is null);
            using var removed = await http.GetAsync("/url/team/web/");
            Assert.Equal(HttpStatusCode.Forbidden, removed.StatusCode);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("fn.example.com", true)]
    [InlineData("-bad.example", false)]
    [InlineData("has space.example", false)]
    [InlineData("under_score.example", false)]
    public void Url_domain_must_be_a_dns_name(string domain, bool valid)
    {
        var errors = (TestGateway.FastOptions with { UrlDomain = domain }).Validate();

        Assert.Equal(valid, !errors.Any(e => e.Contains("URL domain", StringComparison.Ordinal)));
    }

    private static string WriteKey()
    {
        var file = Path.GetTempFileName();
        File.WriteAllBytes(file, TestGateway.ClusterKey);
        return file;
    }

    private static Task<object> Create(IKubernetes client, Function function) =>
        client.CustomObjects.CreateNamespacedCustomObjectAsync(function, ApiGroup.Group, ApiGroup.Version, function.Metadata.NamespaceProperty, Function.Plural);
}
