using System.Text.Json.Nodes;

namespace FnOperator.Chart.Tests;

/// <summary>The operator mounts the gateway's cluster key (it mints each function version's pull credential from it).</summary>
public sealed class OperatorClusterKeyChartTests
{
    [Theory]
    [InlineData(null, "fn-operator-cluster-key")]
    [InlineData("gateway.clusterKey.existingSecret=my-cluster-key", "my-cluster-key")]
    public async Task Operator_mounts_the_cluster_key_secret_read_only_and_is_told_where(string? set, string secretName)
    {
        var manifests = set is null ? await Helm.RenderAsync() : await Helm.RenderAsync(set);
        var operatorDeployment = manifests.Single("Deployment", "fn-operator");
        var pod = operatorDeployment["spec"]!["template"]!["spec"]!;
        var container = pod["containers"]![0]!;

        Assert.Equal("/etc/fnop/cluster-key/cluster-key", (string?)WorkloadTests.Env(operatorDeployment)["Operator__ClusterKeyFile"]!["value"]);
        var volume = pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == "cluster-key")!;
        Assert.Equal(secretName, (string?)volume["secret"]!["secretName"]);
        // The text 0400 (octal to the API server's YAML 1.1 parser; this YAML 1.2 reader sees the digits), as the gateway's.
        Assert.Equal(400L, (long?)volume["secret"]!["defaultMode"]);
        var item = Assert.Single(volume["secret"]!["items"]!.AsArray())!;
        Assert.Equal(("cluster-key", "cluster-key"), ((string?)item["key"], (string?)item["path"]));
        var mount = container["volumeMounts"]!.AsArray().Single(m => (string?)m!["name"] == "cluster-key")!;
        Assert.Equal(("/etc/fnop/cluster-key", true), ((string?)mount["mountPath"], (bool?)mount["readOnly"]));
        Assert.NotNull(pod["securityContext"]!["fsGroup"]);
    }
}
