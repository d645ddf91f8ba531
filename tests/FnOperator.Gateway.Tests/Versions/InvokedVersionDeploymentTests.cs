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
/// A published version that no Alias names and that has no provisioned concurrency: invoking it makes the operator (which
/// reads the real gateway's <c>/_fnop/v1/stats</c>) give it a Deployment, which the autoscaler scales on the version's
/// demand; once nothing has invoked it for the retention window the Deployment is removed again.
/// </summary>
public sealed class InvokedVersionDeploymentTests
{
    [Fact]
    public async Task Invoking_an_unaliased_version_deploys_it_scaled_by_demand_and_removes_it_after_the_retention_window()
    {
        await using var server = await KubeApiTestServer.StartAsync(new KubeApiServerOptions { CrdDirectory = Path.Combine(RepoPaths.Root, "crds") });
        var client = server.CreateClient();
        var gateway = GatewayApp.Build(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey }, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton(client);
            FunctionFeed.Register(builder, ns: null);
            VersionFeed.Register(builder.Services);
            ClusterVersionWriter.Register(builder.Services);
        });
        await gateway.StartAsync();
        var endpoint = GatewayApp.Addresses(gateway)[0].ToString().TrimEnd('/');
        var clusterKeyFile = Path.Combine(Path.GetTempPath(), $"fnop-invoked-key-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(clusterKeyFile, TestGateway.ClusterKey);
        await using var operatorApp = OperatorApp.Build(
            ["--urls", "http://127.0.0.1:0", "--Operator:PodName", "op-0", "--Operator:PodNamespace", "fn-system", "--Operator:DependencyRetry", "00:00:01",
             "--Operator:LeaseDuration", "00:00:02", "--Operator:RenewDeadline", "00:00:01.500", "--Operator:RetryPeriod", "00:00:00.250",
             "--Operator:ClusterKeyFile", clusterKeyFile, "--Operator:GatewayUrl", endpoint,
             "--Operator:InvokedVersions:Retention", "00:00:03", "--Operator:InvokedVersions:PollInterval", "00:00:00.200",
             "--Operator:Autoscaler:PollInterval", "00:00:00.200", "--Operator:Autoscaler:IdleOverride", "00:00:01",
             "--Logging:LogLevel:Default", "Warning"],
            services =>
            {
                services.AddSingleton<IKubernetes>(new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseUri.ToString() }));
                services.AddSingleton(new OperatorMetrics(Prometheus.Metrics.NewCustomRegistry()));
            });
        await operatorApp.StartAsync();
        var functions = gateway.Services.GetRequiredService<FunctionRegistry>();
        var key = new FunctionKey("default", "demand");
        TestWorker? worker = null;
        try
        {
            var spec = VersionWorkers.Spec(128);
            spec.Versioning = new VersioningSpec { AutoPublish = true };
            spec.Scaling = new ScalingSpec { MaxReplicas = 5 };
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(
                new Function { Metadata = new V1ObjectMeta { Name = "demand", NamespaceProperty = "default" }, Spec = spec },
                ApiGroup.Group, ApiGroup.Version, "default", Function.Plural);
            await TestWait.UntilAsync(() => functions.HasVersion(key, "1"), TimeSpan.FromSeconds(60));
            await UntilAsync(async () => (await DeploymentNamesAsync(client)).SequenceEqual(["demand-latest"]), "only $LATEST is deployed");
            Assert.False(await VersionDeployedAsync(client, "1"));

            for (var i = 0; i < 3; i++)
            {
                var (exit, _, err) = await AwsCli.RunAsync("lambda", "invoke", "--function-name", "demand", "--qualifier", "1", "--invocation-type", "Event",
                    "--cli-binary-format", "raw-in-base64-out", "--payload", "{}", "--endpoint-url", endpoint, "--region", "us-east-1", Path.Combine(Path.GetTempPath(), $"fnop-invoked-{Guid.NewGuid():N}.json"));
                Assert.True(exit == 0, err);
            }

            // Three queued events of version 1 and nothing to run them: the version gets a Deployment, scaled to its demand.
            await UntilAsync(async () => (await client.AppsV1.ListNamespacedDeploymentAsync("default")).Items
                .FirstOrDefault(d => d.Metadata.Name == "demand-v1") is { } d && d.Spec.Replicas == 3, "demand-v1 at 3 replicas");
            var v1 = await client.AppsV1.ReadNamespacedDeploymentAsync("demand-v1", "default");
            Assert.Equal("1", v1.Metadata.Labels["fnoperator.io/version"]);
            Assert.Contains(v1.Spec.Template.Spec.Containers.SelectMany(c => c.Env ?? []), e => e.Name == "AWS_LAMBDA_FUNCTION_VERSION" && e.Value == "1");
            await UntilAsync(() => VersionDeployedAsync(client, "1"), "status.versions[0].deployed");

            // Its "pods" take the events; with no more invocations the Deployment goes after the window.
            worker = new TestWorker(new Uri(endpoint), key, inv => TestWorker.Ok(inv, JsonValue.Create("1").ToJsonString()), 3, "1");
            await TestWait.UntilAsync(() => worker.Received.Count >= 3, TimeSpan.FromSeconds(60));
            await UntilAsync(async () => (await DeploymentNamesAsync(client)).SequenceEqual(["demand-latest"]), "demand-v1 removed after the retention window");
            await UntilAsync(async () => !await VersionDeployedAsync(client, "1"), "status.versions[0].deployed false");
            var revisions = await client.AppsV1.ListNamespacedControllerRevisionAsync("default", labelSelector: "fnoperator.io/function=demand");
            Assert.Equal(["demand-v1"], revisions.Items.Select(r => r.Metadata.Name)); // the version itself stays
        }
        finally
        {
            if (worker is not null)
            {
                await worker.DisposeAsync();
            }

            await operatorApp.StopAsync();
            await gateway.StopAsync();
            await gateway.DisposeAsync();
        }
    }

    private static async Task<string[]> DeploymentNamesAsync(IKubernetes client) =>
        [.. (await client.AppsV1.ListNamespacedDeploymentAsync("default")).Items.Select(d => d.Metadata.Name).Order()];

    private static async Task<bool> VersionDeployedAsync(IKubernetes client, string version)
    {
        var fn = await client.CustomObjects.GetNamespacedCustomObjectAsync<Function>(ApiGroup.Group, ApiGroup.Version, "default", Function.Plural, "demand");
        return fn.Status?.Versions?.FirstOrDefault(v => v.Version == version)?.Deployed == true;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for: {what}");
            await Task.Delay(100);
        }
    }
}
