using System.Text.Json.Nodes;

namespace FnOperator.Chart.Tests;

public sealed class NetworkPolicyTests
{
    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Every_chart_workload_is_selected_by_a_policy_for_ingress_and_egress(string valueSet)
    {
        var manifests = await ValueSets.RenderAsync(valueSet);
        var policies = manifests.OfKind("NetworkPolicy").ToList();
        foreach (var workload in manifests.OfKind("Deployment").Concat(manifests.OfKind("StatefulSet")))
        {
            var labels = (JsonObject)workload["spec"]!["template"]!["metadata"]!["labels"]!;
            var covering = policies.Where(p => Manifests.Namespace(p) == Manifests.Namespace(workload) && Selects(p, labels)).ToList();
            Assert.True(covering.Count > 0, $"{Manifests.Name(workload)} is selected by no NetworkPolicy");
            Assert.All(covering, p => Assert.Equal(["Egress", "Ingress"], Manifests.Strings(p["spec"]!["policyTypes"]).Order()));
        }
    }

    [Fact]
    public async Task Function_pods_are_isolated_only_in_listed_namespaces()
    {
        Assert.Null((await Helm.RenderAsync()).Find("NetworkPolicy", "fn-operator-functions"));

        var manifests = await ValueSets.RenderAsync("function-namespaces");
        var policies = manifests.OfKind("NetworkPolicy").Where(p => Manifests.Name(p) == "fn-operator-functions").ToList();
        Assert.Equal(["demo", "team-a"], policies.Select(p => Manifests.Namespace(p)!).Order());
        foreach (var policy in policies)
        {
            var spec = policy["spec"]!;
            Assert.Equal("fn-operator", (string?)spec["podSelector"]!["matchLabels"]!["app.kubernetes.io/managed-by"]);

            // Ingress: only the shim's health/metrics port; the Runtime API (127.0.0.1:9001) is never a network port.
            var ingressPorts = spec["ingress"]!.AsArray().SelectMany(r => r!["ports"]!.AsArray()).Select(p => (long)p!["port"]!).ToList();
            Assert.Equal([9100L], ingressPorts);
            Assert.All(spec["ingress"]!.AsArray(), r => Assert.NotEmpty(r!["from"]!.AsArray()));

            // Egress: DNS, and the gateway's pull protocol in the release namespace; nothing else by default.
            var egress = spec["egress"]!.AsArray().Select(r => r!).ToList();
            Assert.Equal(2, egress.Count);
            Assert.Contains(egress, r => r["ports"]!.AsArray().Any(p => (long?)p!["port"] == 53));
            var gateway = egress.Single(r => r["ports"]!.AsArray().Any(p => (long?)p!["port"] == 8080));
            var peer = gateway["to"]![0]!;
            Assert.Equal("fn-system", (string?)peer["namespaceSelector"]!["matchLabels"]!["kubernetes.io/metadata.name"]);
            Assert.Equal("gateway", (string?)peer["podSelector"]!["matchLabels"]!["app.kubernetes.io/component"]);
            Assert.All(egress, r => Assert.NotNull(r["ports"]));
        }
    }

    [Fact]
    public async Task Function_extra_egress_rules_are_appended()
    {
        var manifests = await Helm.RenderAsync(
            "networkPolicy.functionNamespaces={demo}",
            "networkPolicy.functionExtraEgress[0].to[0].ipBlock.cidr=10.20.0.0/16",
            "networkPolicy.functionExtraEgress[0].ports[0].port=443");
        var egress = manifests.Single("NetworkPolicy", "fn-operator-functions")["spec"]!["egress"]!.AsArray();
        Assert.Equal(3, egress.Count);
        Assert.Equal("10.20.0.0/16", (string?)egress[2]!["to"]![0]!["ipBlock"]!["cidr"]);
    }

    [Fact]
    public async Task Gateway_accepts_shims_and_callers_on_8080_and_reaches_nats_only_when_configured()
    {
        var plain = (await Helm.RenderAsync()).Single("NetworkPolicy", "fn-operator-gateway");
        Assert.DoesNotContain(plain["spec"]!["egress"]!.AsArray(), r => r!["ports"]!.AsArray().Any(p => (long?)p!["port"] == 4222));

        var nats = (await ValueSets.RenderAsync("nats")).Single("NetworkPolicy", "fn-operator-gateway");
        var natsRule = nats["spec"]!["egress"]!.AsArray().Single(r => r!["ports"]!.AsArray().Any(p => (long?)p!["port"] == 4222))!;
        Assert.Equal("nats", (string?)natsRule["to"]![0]!["podSelector"]!["matchLabels"]!["app.kubernetes.io/component"]);

        var restricted = (await Helm.RenderAsync("networkPolicy.gatewayIngressFrom[0].namespaceSelector.matchLabels.team=a"))
            .Single("NetworkPolicy", "fn-operator-gateway");
        var invoke = restricted["spec"]!["ingress"]!.AsArray().First(r => r!["ports"]!.AsArray().Any(p => (long?)p!["port"] == 8080))!;
        var from = invoke["from"]!.AsArray();
        Assert.Contains(from, p => (string?)p!["namespaceSelector"]?["matchLabels"]?["team"] == "a");
        Assert.Contains(from, p => (string?)p!["podSelector"]?["matchLabels"]?["app.kubernetes.io/managed-by"] == "fn-operator");
    }

    [Fact]
    public async Task Nats_accepts_clients_only_from_the_gateway()
    {
        var policy = (await ValueSets.RenderAsync("nats")).Single("NetworkPolicy", "fn-operator-nats");
        var client = policy["spec"]!["ingress"]!.AsArray().Single(r => r!["ports"]!.AsArray().Any(p => (long?)p!["port"] == 4222))!;
        Assert.Equal("gateway", (string?)client["from"]![0]!["podSelector"]!["matchLabels"]!["app.kubernetes.io/component"]);
        Assert.Single(client["from"]!.AsArray());
    }

    [Fact]
    public async Task Network_policies_can_be_turned_off()
    {
        Assert.Empty((await Helm.RenderAsync("networkPolicy.enabled=false", "networkPolicy.functionNamespaces={demo}")).OfKind("NetworkPolicy"));
    }

    private static bool Selects(JsonObject policy, JsonObject labels) =>
        ((JsonObject?)policy["spec"]!["podSelector"]!["matchLabels"] ?? [])
            .All(kv => labels.TryGetPropertyValue(kv.Key, out var v) && (string?)v == (string?)kv.Value);

    [Fact]
    public async Task Operator_may_download_url_code_and_layers_over_https_unless_narrowed()
    {
        static IEnumerable<long?> EgressPorts(Manifests m) =>
            m.Single("NetworkPolicy", "fn-operator")["spec"]!["egress"]!.AsArray()
                .Where(rule => rule!["to"] is null)
                .SelectMany(rule => rule!["ports"]!.AsArray().Select(p => (long?)p!["port"]));

        // With the API server's CIDRs set, its rule has a "to": the only rule open to any address is the download rule.
        const string apiServer = "networkPolicy.apiServerCidrs={10.0.0.1/32}";
        Assert.Contains(443L, EgressPorts(await Helm.RenderAsync(apiServer)));
        Assert.DoesNotContain(443L, EgressPorts(await Helm.RenderAsync(apiServer, "networkPolicy.downloadEgress=null")));
    }

    [Fact]
    public async Task Operator_tmp_holds_one_download_per_reconcile_worker()
    {
        static string? TmpLimit(Manifests m) =>
            (string?)m.Single("Deployment", "fn-operator")["spec"]!["template"]!["spec"]!["volumes"]!.AsArray()
                .Single(v => (string?)v!["name"] == "tmp")!["emptyDir"]!["sizeLimit"];

        Assert.Equal("464Mi", TmpLimit(await Helm.RenderAsync()));
        Assert.Equal("864Mi", TmpLimit(await Helm.RenderAsync("operator.workers=8")));
    }
}
