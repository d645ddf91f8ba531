using System.Net;
using FnOperator.Api;
using FnOperator.Gateway.Cluster;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;
using FnOperator.KubeApiServer;
using k8s;
using k8s.Models;

namespace FnOperator.Gateway.Tests;

/// <summary>Serve mode's Function watch against the in-process Kubernetes API test server.</summary>
public sealed class ServeModeTests
{
    private static Function NewFunction(string ns, string name, int timeout = 3) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = timeout, Code = new FunctionCode { Image = "example/fn:1" } },
    };

    [Fact]
    public async Task Serve_mode_serves_functions_from_the_cluster_and_follows_creates_updates_deletes_and_dropped_watches()
    {
        await using var server = await KubeApiTestServer.StartAsync(new KubeApiServerOptions { CrdDirectory = Path.Combine(RepoPaths.Root, "crds") });
        var client = server.CreateClient();
        await Create(client, NewFunction("default", "existing"));
        var app = GatewayApp.Build(TestGateway.FastOptions, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton(client);
            FunctionFeed.Register(builder, ns: null);
        });
        await app.StartAsync();
        try
        {
            var functions = app.Services.GetRequiredService<FunctionRegistry>();
            using var http = new HttpClient { BaseAddress = GatewayApp.Addresses(app)[0] };
            await TestWait.UntilAsync(() => functions.Contains(new FunctionKey("default", "existing")));
            // The informer hands the listed Function to the registry before the watcher marks the list synced (CI saw
            // a 503 in between): ready once it has, as a kubelet's probe would see it.
            await TestWait.UntilAsync(() => app.Services.GetRequiredService<GatewayReadiness>().IsReady);
            Assert.Equal("ready", await http.GetStringAsync("/readyz"));

            await Create(client, NewFunction("team", "added"));
            await TestWait.UntilAsync(() => functions.Contains(new FunctionKey("team", "added")));
            await using (var worker = new TestWorker(http.BaseAddress!, new FunctionKey("team", "added"), TestWorker.Echo))
            {
                using var invoked = await http.SendAsync(TestGateway.Invoke("team.added", """{"from":"cluster"}"""));
                Assert.Equal("""{"from":"cluster"}""", await invoked.Content.ReadAsStringAsync());
            }

            var updated = NewFunction("team", "added", timeout: 42);
            var current = await client.CustomObjects.GetNamespacedCustomObjectAsync<Function>(ApiGroup.Group, ApiGroup.Version, "team", Function.Plural, "added");
            updated.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
            await client.CustomObjects.ReplaceNamespacedCustomObjectAsync(updated, ApiGroup.Group, ApiGroup.Version, "team", Function.Plural, "added");
            await TestWait.UntilAsync(() => functions.TryGet(new FunctionKey("team", "added"), out var spec) && spec.TimeoutSeconds == 42);

            server.DropWatches();
            await client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, "default", Function.Plural, "existing");
            await Create(client, NewFunction("default", "after-drop"));
            await TestWait.UntilAsync(() => !functions.Contains(new FunctionKey("default", "existing")) && functions.Contains(new FunctionKey("default", "after-drop")));

            using var gone = await http.SendAsync(TestGateway.Invoke("existing"));
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static Task<object> Create(IKubernetes client, Function function) =>
        client.CustomObjects.CreateNamespacedCustomObjectAsync(function, ApiGroup.Group, ApiGroup.Version, function.Metadata.NamespaceProperty, Function.Plural);
}
