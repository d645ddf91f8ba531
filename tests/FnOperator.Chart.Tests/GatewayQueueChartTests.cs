using System.Text.Json.Nodes;

namespace FnOperator.Chart.Tests;

/// <summary>The gateway's durable queue in the chart: NATS (pinned, PVC, GOMEMLIMIT, auth), replicas, the cluster key, graceful stop.</summary>
public sealed class GatewayQueueChartTests
{
    private static JsonObject Container(JsonObject workload) => workload["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();

    [Fact]
    public async Task With_nats_the_gateway_runs_two_replicas_with_the_generated_nats_credential_and_cluster_key()
    {
        var manifests = await Helm.RenderAsync("nats.enabled=true");
        var gateway = manifests.Single("Deployment", "fn-operator-gateway");
        var env = WorkloadTests.Env(gateway);

        Assert.Equal(2L, (long?)gateway["spec"]!["replicas"]);
        Assert.Equal("fn-operator-nats-auth", (string?)env["Gateway__NatsUser"]!["valueFrom"]!["secretKeyRef"]!["name"]);
        Assert.Equal("password", (string?)env["Gateway__NatsPassword"]!["valueFrom"]!["secretKeyRef"]!["key"]);
        Assert.Equal("/etc/fnop/cluster-key/cluster-key", (string?)env["Gateway__ClusterKeyFile"]!["value"]);
        var volumes = gateway["spec"]!["template"]!["spec"]!["volumes"]!.AsArray();
        Assert.Contains(volumes, v => (string?)v!["secret"]?["secretName"] == "fn-operator-cluster-key");
        var clusterKey = manifests.Single("Secret", "fn-operator-cluster-key");
        Assert.True(Convert.FromBase64String((string)clusterKey["data"]!["cluster-key"]!).Length >= 32);
        Assert.Equal("keep", (string?)clusterKey["metadata"]!["annotations"]!["helm.sh/resource-policy"]);
        var auth = manifests.Single("Secret", "fn-operator-nats-auth");
        Assert.Equal("fn-operator-nats-auth", (string?)Container(manifests.Single("StatefulSet", "fn-operator-nats"))["env"]!.AsArray()
            .Single(e => (string?)e!["name"] == "NATS_PASSWORD")!["valueFrom"]!["secretKeyRef"]!["name"]);
        Assert.True(Convert.FromBase64String((string)auth["data"]!["password"]!).Length >= 32);
    }

    [Fact]
    public async Task Nats_is_pinned_on_file_storage_with_a_memory_limit_and_payloads_large_enough_for_sync_invocations()
    {
        var manifests = await Helm.RenderAsync("nats.enabled=true");
        var sts = manifests.Single("StatefulSet", "fn-operator-nats");
        var container = Container(sts);
        var config = (string)manifests.Single("ConfigMap", "fn-operator-nats-config")["data"]!["nats.conf"]!;

        Assert.Matches(@":\d+\.\d+\.\d+", (string)container["image"]!);
        Assert.Contains("max_payload: 8MB", config, StringComparison.Ordinal);
        Assert.Contains("user: $NATS_USER", config, StringComparison.Ordinal);
        Assert.Contains("--config=/etc/nats/nats.conf", Manifests.Strings(container["args"]));
        Assert.Equal("460MiB", (string?)container["env"]!.AsArray().Single(e => (string?)e!["name"] == "GOMEMLIMIT")!["value"]);
        Assert.Equal("512Mi", (string?)container["resources"]!["limits"]!["memory"]);
        Assert.Equal("data", (string?)sts["spec"]!["volumeClaimTemplates"]![0]!["metadata"]!["name"]);
    }

    [Fact]
    public async Task Termination_grace_period_comes_from_a_value_and_the_shutdown_budget_stays_inside_it()
    {
        var defaults = (await Helm.RenderAsync()).Single("Deployment", "fn-operator-gateway");
        var custom = (await Helm.RenderAsync("gateway.terminationGracePeriodSeconds=120")).Single("Deployment", "fn-operator-gateway");

        Assert.Equal(930L, (long?)defaults["spec"]!["template"]!["spec"]!["terminationGracePeriodSeconds"]);
        Assert.Equal("915", (string?)WorkloadTests.Env(defaults)["Gateway__ShutdownTimeoutSeconds"]!["value"]);
        Assert.Equal(120L, (long?)custom["spec"]!["template"]!["spec"]!["terminationGracePeriodSeconds"]);
        Assert.Equal("105", (string?)WorkloadTests.Env(custom)["Gateway__ShutdownTimeoutSeconds"]!["value"]);
    }

    [Fact]
    public async Task Existing_secrets_are_used_instead_of_generated_ones_for_an_external_nats_with_tls()
    {
        var manifests = await Helm.RenderAsync("nats.externalUrl=tls://nats.shared.svc:4222", "nats.auth.existingSecret=shared-nats",
            "nats.tls.caSecret=shared-nats-ca", "gateway.clusterKey.existingSecret=my-cluster-key");
        var gateway = manifests.Single("Deployment", "fn-operator-gateway");
        var env = WorkloadTests.Env(gateway);

        Assert.Empty(manifests.OfKind("Secret"));
        Assert.Equal("shared-nats", (string?)env["Gateway__NatsUser"]!["valueFrom"]!["secretKeyRef"]!["name"]);
        Assert.Equal("/etc/fnop/nats-ca/ca.crt", (string?)env["Gateway__NatsCaFile"]!["value"]);
        var volumes = gateway["spec"]!["template"]!["spec"]!["volumes"]!.AsArray();
        Assert.Contains(volumes, v => (string?)v!["secret"]?["secretName"] == "my-cluster-key");
        Assert.Contains(volumes, v => (string?)v!["secret"]?["secretName"] == "shared-nats-ca");
    }

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Every_gateway_setting_the_chart_sets_is_read_by_serve_mode(string valueSet)
    {
        var reader = File.ReadAllText(Repo.At("operator", "FnOperator.Gateway", "GatewayEnvironment.cs"));
        var manifests = await ValueSets.RenderAsync(valueSet);
        var settings = WorkloadTests.Env(manifests.Single("Deployment", "fn-operator-gateway")).Keys
            .Where(k => k.StartsWith("Gateway__", StringComparison.Ordinal)).ToList();

        Assert.Contains("Gateway__ClusterKeyFile", settings);
        Assert.All(settings, key => Assert.True(reader.Contains($"Get(\"{key}\")", StringComparison.Ordinal), $"{key}: GatewayEnvironment does not read it"));
    }

    [Fact]
    public async Task More_than_one_gateway_replica_without_nats_is_refused()
    {
        var result = await Helm.TemplateAsync(["gateway.replicas=2"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("needs a shared queue", result.StdErr, StringComparison.Ordinal);
    }
}
