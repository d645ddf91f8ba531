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

/// <summary>delete-function --qualifier N in serve mode with the real operator: the version's ControllerRevision and Deployment go.</summary>
public sealed class ServeModeDeleteVersionTests
{
    [Fact]
    public async Task Aws_cli_delete_function_qualifier_deletes_the_versions_revision_and_deployment_in_a_cluster()
    {
        await using var server = await KubeApiTestServer.StartAsync(new KubeApiServerOptions { CrdDirectory = Path.Combine(RepoPaths.Root, "crds") });
        var client = server.CreateClient();
        var clusterKeyFile = Path.Combine(Path.GetTempPath(), $"fnop-delete-version-key-{Guid.NewGuid():N}");
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
        var key = new FunctionKey("default", "gone");
        try
        {
            var spec = VersionWorkers.Spec(128);
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(
                new Function { Metadata = new V1ObjectMeta { Name = "gone", NamespaceProperty = "default" }, Spec = spec }, ApiGroup.Group, ApiGroup.Version, "default", Function.Plural);
            await TestWait.UntilAsync(() => functions.Contains(key), TimeSpan.FromSeconds(60));
            foreach (var expected in new[] { "1", "2" })
            {
                if (expected == "2")
                {
                    await ClusterFunctions.ChangeAsync(client, "gone", spec => spec.MemoryMiB = 256);
                    await TestWait.UntilAsync(() => functions.TryGet(key, out var s) && s.MemoryMiB == 256, TimeSpan.FromSeconds(60));
                }

                var (p, pOut, pErr) = await AwsAsync(endpoint, "lambda", "publish-version", "--function-name", "gone");
                Assert.True(p == 0, pErr);
                Assert.Equal(expected, (string?)JsonNode.Parse(pOut)!["Version"]);
            }

            var (a, _, aErr) = await AwsAsync(endpoint, "lambda", "create-alias", "--function-name", "gone", "--name", "live", "--function-version", "1");
            Assert.True(a == 0, aErr);
            await UntilAsync(async () => (await client.AppsV1.ListNamespacedDeploymentAsync("default")).Items.Any(d => d.Metadata.Name == "gone-v1"), "gone-v1 Deployment");

            var (refused, _, refusedErr) = await AwsAsync(endpoint, "lambda", "delete-function", "--function-name", "gone", "--qualifier", "1");
            Assert.NotEqual(0, refused);
            Assert.Contains("ResourceConflictException", refusedErr, StringComparison.Ordinal);
            var (latest, _, latestErr) = await AwsAsync(endpoint, "lambda", "delete-function", "--function-name", "gone", "--qualifier", "$LATEST");
            Assert.NotEqual(0, latest);
            Assert.Contains("$LATEST version cannot be deleted without deleting the function.", latestErr, StringComparison.Ordinal);

            var (d2, _, d2Err) = await AwsAsync(endpoint, "lambda", "delete-function", "--function-name", "gone", "--qualifier", "2");
            Assert.True(d2 == 0, d2Err);
            Assert.False(functions.HasVersion(key, "2")); // the call returns once the gateway's watch shows it gone
            var revisions = await client.AppsV1.ListNamespacedControllerRevisionAsync("default", labelSelector: "fnoperator.io/function=gone");
            Assert.Equal(["gone-v1"], revisions.Items.Select(r => r.Metadata.Name));

            var (da, _, daErr) = await AwsAsync(endpoint, "lambda", "delete-alias", "--function-name", "gone", "--name", "live");
            Assert.True(da == 0, daErr);
            var (d1, _, d1Err) = await AwsAsync(endpoint, "lambda", "delete-function", "--function-name", "gone", "--qualifier", "1");
            Assert.True(d1 == 0, d1Err);
            await UntilAsync(async () => (await client.AppsV1.ListNamespacedDeploymentAsync("default")).Items.Select(d => d.Metadata.Name).SequenceEqual(["gone-latest"]),
                "only gone-latest left");
            var (list, listOut, listErr) = await AwsAsync(endpoint, "lambda", "list-versions-by-function", "--function-name", "gone");
            Assert.True(list == 0, listErr);
            Assert.Equal(["$LATEST"], JsonNode.Parse(listOut)!["Versions"]!.AsArray().Select(v => (string)v!["Version"]!));
            Assert.True(functions.Contains(key)); // the Function itself stays
        }
        finally
        {
            await gateway.StopAsync();
            await gateway.DisposeAsync();
            await operatorApp.StopAsync();
        }
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> AwsAsync(string endpoint, params string[] args) =>
        AwsCli.RunAsync([.. args, "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"]);

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
