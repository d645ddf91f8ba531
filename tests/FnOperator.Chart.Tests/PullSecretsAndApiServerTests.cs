using System.Text.Json.Nodes;

namespace FnOperator.Chart.Tests;

/// <summary>imagePullSecrets reach every pod the chart renders (and the NOTES say how function pods get them); apiServerCidrs narrow egress.</summary>
public sealed class PullSecretsAndApiServerTests
{
    [Fact]
    public async Task Image_pull_secrets_reach_the_helm_test_pod_and_the_operator_and_gateway_pods()
    {
        var manifests = await Helm.RenderAsync("imagePullSecrets[0].name=regcred");

        var pods = manifests.OfKind("Deployment").Select(w => w["spec"]!["template"]!["spec"]!)
            .Append(manifests.Single("Pod", "fn-operator-test-gateway")["spec"]!)
            .ToList();
        Assert.Equal(3, pods.Count);
        Assert.All(pods, spec => Assert.Equal(["regcred"], spec["imagePullSecrets"]!.AsArray().Select(s => (string)s!["name"]!)));
        Assert.Null((await Helm.RenderAsync()).Single("Pod", "fn-operator-test-gateway")["spec"]!["imagePullSecrets"]);
    }

    [Fact]
    public async Task Notes_say_how_function_pods_get_the_pull_secrets_only_when_some_are_set()
    {
        var with = await NotesAsync("--set", "imagePullSecrets[0].name=regcred", "--set", "imagePullSecrets[1].name=mirror");
        var without = await NotesAsync();

        Assert.Contains("kubectl -n demo patch serviceaccount default -p '{\"imagePullSecrets\":[{\"name\":\"regcred\"},{\"name\":\"mirror\"}]}'", with, StringComparison.Ordinal);
        Assert.Contains("add the secrets to the ServiceAccount each function runs as", with, StringComparison.Ordinal);
        Assert.DoesNotContain("patch serviceaccount", without, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_server_cidrs_narrow_the_operator_and_gateway_egress_to_those_addresses_on_the_api_ports()
    {
        var open = await Helm.RenderAsync();
        var narrowed = await Helm.RenderAsync("networkPolicy.apiServerCidrs={10.96.0.1/32,172.18.0.2/32}");

        foreach (var policy in new[] { "fn-operator", "fn-operator-gateway" })
        {
            var openRule = ApiServerRule(open.Single("NetworkPolicy", policy));
            Assert.Null(openRule["to"]);

            var rule = ApiServerRule(narrowed.Single("NetworkPolicy", policy));
            Assert.Equal(["10.96.0.1/32", "172.18.0.2/32"], rule["to"]!.AsArray().Select(p => (string)p!["ipBlock"]!["cidr"]!));
            Assert.Equal([443L, 6443L], rule["ports"]!.AsArray().Select(p => (long)p!["port"]!));
        }
    }

    [Fact]
    public async Task Api_server_cidrs_that_are_not_cidrs_are_rejected_by_the_schema()
    {
        var result = await Helm.TemplateAsync(["networkPolicy.apiServerCidrs={kubernetes.default}"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("apiServerCidrs", result.StdErr, StringComparison.Ordinal);
    }

    private static JsonNode ApiServerRule(JsonObject policy) =>
        policy["spec"]!["egress"]!.AsArray().Single(r => r!["ports"]!.AsArray().Any(p => (long?)p!["port"] == 6443))!;

    private static async Task<string> NotesAsync(params string[] sets)
    {
        var result = await Helm.RunAsync(["install", "fn-operator", Repo.Chart, "--namespace", "fn-system", "--dry-run=client", .. sets]);
        Assert.True(result.ExitCode == 0, result.Describe());
        return result.StdOut[result.StdOut.IndexOf("NOTES:", StringComparison.Ordinal)..];
    }
}
