using System.Text.Json;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Cluster;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;
using FnOperator.KubeApiServer;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;

namespace FnOperator.Gateway.Tests.Versions;

/// <summary>
/// Serve mode with the real operator against the API test server: versions the operator publishes and Aliases in the
/// cluster route invocations; publish-version and create-alias through the gateway write through Kubernetes.
/// </summary>
public sealed class ServeModeVersionsTests
{
    [Fact]
    public async Task Serve_mode_routes_published_versions_and_writes_publish_requests_and_aliases_through_kubernetes()
    {
        await using var server = await KubeApiTestServer.StartAsync(new KubeApiServerOptions { CrdDirectory = Path.Combine(RepoPaths.Root, "crds") });
        var client = server.CreateClient();
        var clusterKeyFile = Path.Combine(Path.GetTempPath(), $"fnop-serve-versions-key-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(clusterKeyFile, TestGateway.ClusterKey);
        await using var operatorApp = OperatorApp.Build(
            ["--urls", "http://127.0.0.1:0", "--Operator:PodName", "op-0", "--Operator:PodNamespace", "fn-system", "--Operator:DependencyRetry", "00:00:01",
             "--Operator:LeaseDuration", "00:00:02", "--Operator:RenewDeadline", "00:00:01.500", "--Operator:RetryPeriod", "00:00:00.250",
             "--Operator:ClusterKeyFile", clusterKeyFile, "--Logging:LogLevel:Default", "Warning"],
            services =>
            {
                services.AddSingleton<IKubernetes>(new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseUri.ToString() }));
                services.AddSingleton(new OperatorMetrics(Prometheus.Metrics.NewCustomRegistry()));
            });
        await operatorApp.StartAsync();
        var gateway = GatewayApp.Build(TestGateway.FastOptions, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton(client);
            FunctionFeed.Register(builder, ns: null);
            VersionFeed.Register(builder.Services);
            ClusterVersionWriter.Register(builder.Services);
        });
        await gateway.StartAsync();
        var endpoint = GatewayApp.Addresses(gateway)[0].ToString().TrimEnd('/');
        var functions = gateway.Services.GetRequiredService<FunctionRegistry>();
        var key = new FunctionKey("default", "cluster");
        var workers = new List<TestWorker>();
        try
        {
            await Create(client, NewFunction("cluster", autoPublish: true, memory: 128));
            await TestWait.UntilAsync(() => functions.HasVersion(key, "1"), TimeSpan.FromSeconds(60));
            await ClusterFunctions.ChangeAsync(client, "cluster", spec => spec.MemoryMiB = 256);
            await TestWait.UntilAsync(() => functions.HasVersion(key, "2"), TimeSpan.FromSeconds(60));
            foreach (var version in new[] { "1", "2" })
            {
                workers.Add(new TestWorker(new Uri(endpoint), key, inv => TestWorker.Ok(inv, JsonValue.Create(version).ToJsonString()), 2, version));
            }

            var (aliasExit, _, aliasErr) = await AwsCli.RunAsync("lambda", "create-alias", "--function-name", "cluster", "--name", "live", "--function-version", "1",
                "--routing-config", """{"AdditionalVersionWeights":{"2":0.3}}""", "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json");
            Assert.True(aliasExit == 0, aliasErr);
            var stored = await client.CustomObjects.GetNamespacedCustomObjectAsync<Alias>(ApiGroup.Group, ApiGroup.Version, "default", Alias.Plural, "cluster-live");
            Assert.Equal(("live", "cluster", "1", 0.3), (stored.Spec.Name, stored.Spec.FunctionName, stored.Spec.FunctionVersion, stored.Spec.RoutingConfig!.AdditionalVersionWeights!["2"]));

            var executed = new HashSet<string>();
            for (var i = 0; i < 30 && executed.Count < 2; i++)
            {
                var result = await AwsCli.InvokeAsync(endpoint, "cluster:live", "{}");
                Assert.True(result.ExitCode == 0, result.Stderr);
                Assert.Equal(JsonValue.Create((string)result.Json["ExecutedVersion"]!).ToJsonString(), result.OutFile);
                executed.Add((string)result.Json["ExecutedVersion"]!);
            }

            Assert.Equal(["1", "2"], executed.Order());
            var deadline = DateTime.UtcNow.AddSeconds(60);
            string[] deployments = [];
            while (!deployments.SequenceEqual(["cluster-latest", "cluster-v1", "cluster-v2"]) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
                deployments = [.. (await client.AppsV1.ListNamespacedDeploymentAsync("default")).Items.Select(d => d.Metadata.Name).Order()];
            }

            Assert.Equal(["cluster-latest", "cluster-v1", "cluster-v2"], deployments);

            await Create(client, NewFunction("manual", autoPublish: false, memory: 128));
            await TestWait.UntilAsync(() => functions.Contains(new FunctionKey("default", "manual")), TimeSpan.FromSeconds(60));
            var (p1, p1Out, p1Err) = await AwsCli.RunAsync("lambda", "publish-version", "--function-name", "manual", "--description", "by cli",
                "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json");
            Assert.True(p1 == 0, p1Err);
            Assert.Equal(("1", "by cli"), ((string?)JsonNode.Parse(p1Out)!["Version"], (string?)JsonNode.Parse(p1Out)!["Description"]));
            var (p2, p2Out, p2Err) = await AwsCli.RunAsync("lambda", "publish-version", "--function-name", "manual",
                "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json");
            Assert.True(p2 == 0, p2Err);
            Assert.Equal("1", (string?)JsonNode.Parse(p2Out)!["Version"]); // unchanged: the last version again
            var revisions = await client.AppsV1.ListNamespacedControllerRevisionAsync("default", labelSelector: "fnoperator.io/function=manual");
            Assert.Equal(["manual-v1"], revisions.Items.Select(r => r.Metadata.Name));
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }

            await gateway.StopAsync();
            await gateway.DisposeAsync();
            await operatorApp.StopAsync();
        }
    }

    private static Function NewFunction(string name, bool autoPublish, int memory) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
        Spec = new FunctionSpec
        {
            Runtime = "nodejs22.x", Handler = "index.handler", MemoryMiB = memory,
            Code = new FunctionCode { Url = "https://code.example.com/c.zip", Sha256 = VersionWorkers.Sha },
            Versioning = autoPublish ? new VersioningSpec { AutoPublish = true } : null,
        },
    };

    private static Task<object> Create(IKubernetes client, Function function) =>
        client.CustomObjects.CreateNamespacedCustomObjectAsync(function, ApiGroup.Group, ApiGroup.Version, "default", Function.Plural);
}
