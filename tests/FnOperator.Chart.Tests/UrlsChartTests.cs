using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;

namespace FnOperator.Chart.Tests;

/// <summary>Function URLs in the chart, per urls.publish: operator settings, the path-based route, RBAC, NetworkPolicy.</summary>
public sealed partial class UrlsChartTests
{
    private static readonly string[] IngressValues =
    [
        "urls.publish=ingress", "urls.domain=fn.example.com", "urls.ingress.className=nginx",
        "urls.ingress.annotations.cert-manager\\.io/cluster-issuer=letsencrypt", "urls.tls.secretName=urls-{namespace}-tls",
        "urls.pathBased.tlsSecretName=fn-example-tls",
    ];

    private static readonly string[] HttpRouteValues =
    [
        "urls.publish=httproute", "urls.domain=fn.example.com", "urls.httpRoute.tls=true",
        "urls.httpRoute.parentRefs[0].name=public", "urls.httpRoute.parentRefs[0].namespace=gateway-infra", "urls.httpRoute.parentRefs[0].sectionName=https",
    ];

    [Fact]
    public async Task By_default_nothing_is_published_and_the_operator_is_told_so()
    {
        var manifests = await Helm.RenderAsync();

        Assert.Empty(manifests.OfKind("Ingress"));
        Assert.Empty(manifests.OfKind("HTTPRoute"));
        var env = WorkloadTests.Env(manifests.Single("Deployment", "fn-operator"));
        Assert.Equal("none", (string?)env["Operator__Urls__Publish"]["value"]);
        Assert.False(WorkloadTests.Env(manifests.Single("Deployment", "fn-operator-gateway")).ContainsKey("Gateway__UrlDomain"));
        // The Ingress informer always runs (it finds leftovers), so the release-namespace Role always grants it; no HTTPRoutes.
        var grants = RbacTests.Grants(manifests.Single("Role", "fn-operator-urls"));
        Assert.Equal(["networking.k8s.io/ingresses"], grants.Keys);
    }

    [Fact]
    public async Task Ingress_mode_passes_the_ingress_settings_and_renders_the_path_based_ingress_to_the_gateway()
    {
        var manifests = await Helm.RenderAsync(IngressValues);

        var env = WorkloadTests.Env(manifests.Single("Deployment", "fn-operator")).ToDictionary(e => e.Key, e => (string?)e.Value["value"]);
        Assert.Equal("ingress", env["Operator__Urls__Publish"]);
        Assert.Equal("fn.example.com", env["Operator__Urls__Domain"]);
        Assert.Equal(("fn-gateway", "8080"), (env["Operator__Urls__GatewayService"], env["Operator__Urls__GatewayPort"]));
        Assert.Equal("nginx", env["Operator__Urls__IngressClassName"]);
        Assert.Equal("urls-{namespace}-tls", env["Operator__Urls__TlsSecretName"]);
        Assert.Equal("letsencrypt", (string?)JsonNode.Parse(env["Operator__Urls__IngressAnnotationsJson"]!)!["cert-manager.io/cluster-issuer"]);
        Assert.Equal("fn.example.com", (string?)WorkloadTests.Env(manifests.Single("Deployment", "fn-operator-gateway"))["Gateway__UrlDomain"]["value"]);

        var ingress = manifests.Single("Ingress", "fn-operator-urls");
        Assert.Equal("fn-system", Manifests.Namespace(ingress));
        Assert.Equal("letsencrypt", (string?)ingress["metadata"]!["annotations"]!["cert-manager.io/cluster-issuer"]);
        var spec = ingress["spec"]!;
        Assert.Equal("nginx", (string?)spec["ingressClassName"]);
        var rule = spec["rules"]!.AsArray().Single()!;
        Assert.Equal("fn.example.com", (string?)rule["host"]);
        var path = rule["http"]!["paths"]!.AsArray().Single()!;
        Assert.Equal(("/url/", "Prefix", "fn-gateway", 8080L), ((string?)path["path"], (string?)path["pathType"], (string?)path["backend"]!["service"]!["name"], (long)path["backend"]!["service"]!["port"]!["number"]!));
        Assert.Equal("fn-example-tls", (string?)spec["tls"]![0]!["secretName"]);
        Assert.Equal(["fn.example.com"], Manifests.Strings(spec["tls"]![0]!["hosts"]));

        // The Ingress is a valid typed networking.k8s.io/v1 object (strict: no misplaced field).
        var result = await Helm.TemplateAsync(IngressValues, "--show-only", "templates/urls.yaml");
        Assert.IsType<k8s.Models.V1Ingress>(Assert.Single(KubernetesYaml.LoadAllFromString(result.StdOut, null, strict: true)));
    }

    [Fact]
    public async Task HttpRoute_mode_passes_the_parent_gateways_and_renders_the_path_based_route()
    {
        var manifests = await Helm.RenderAsync(HttpRouteValues);

        var env = WorkloadTests.Env(manifests.Single("Deployment", "fn-operator")).ToDictionary(e => e.Key, e => (string?)e.Value["value"]);
        Assert.Equal("httproute", env["Operator__Urls__Publish"]);
        Assert.Equal("true", env["Operator__Urls__HttpRouteTls"]);
        Assert.Equal(("public", "gateway-infra", "https"), (env["Operator__Urls__ParentRefs__0__Name"], env["Operator__Urls__ParentRefs__0__Namespace"], env["Operator__Urls__ParentRefs__0__SectionName"]));
        Assert.False(env.ContainsKey("Operator__Urls__IngressClassName"));
        Assert.Empty(manifests.OfKind("Ingress"));

        var route = manifests.Single("HTTPRoute", "fn-operator-urls");
        Assert.Equal("gateway.networking.k8s.io/v1", (string?)route["apiVersion"]);
        var spec = route["spec"]!;
        var parent = spec["parentRefs"]!.AsArray().Single()!;
        Assert.Equal(("public", "gateway-infra", "https", "Gateway"), ((string?)parent["name"], (string?)parent["namespace"], (string?)parent["sectionName"], (string?)parent["kind"]));
        Assert.Equal(["fn.example.com"], Manifests.Strings(spec["hostnames"]));
        var rule = spec["rules"]!.AsArray().Single()!;
        Assert.Equal(("PathPrefix", "/url/"), ((string?)rule["matches"]![0]!["path"]!["type"], (string?)rule["matches"]![0]!["path"]!["value"]));
        var backend = rule["backendRefs"]!.AsArray().Single()!;
        Assert.Equal(("fn-gateway", 8080L), ((string?)backend["name"], (long)backend["port"]!));
        Assert.Null(backend["namespace"]); // the route is in the gateway Service's namespace: no ReferenceGrant needed

        var grants = RbacTests.Grants(manifests.Single("Role", "fn-operator-urls"));
        Assert.Equal(["create", "delete", "get", "list", "update", "watch"], grants["gateway.networking.k8s.io/httproutes"].Order());
        Assert.Equal(["create", "delete", "get", "list", "update", "watch"], grants["networking.k8s.io/ingresses"].Order());
        var binding = manifests.Single("RoleBinding", "fn-operator-urls");
        Assert.Equal(("fn-operator", "fn-system"), ((string?)binding["subjects"]![0]!["name"], (string?)binding["subjects"]![0]!["namespace"]));
    }

    [Fact]
    public async Task The_path_based_route_can_be_turned_off()
    {
        Assert.Empty((await Helm.RenderAsync([.. IngressValues, "urls.pathBased.enabled=false"])).OfKind("Ingress"));
        Assert.Empty((await Helm.RenderAsync([.. HttpRouteValues, "urls.pathBased.enabled=false"])).OfKind("HTTPRoute"));
    }

    [Theory]
    [InlineData("urls.publish=ingress", "domain")]
    [InlineData("urls.publish=everything", "publish")]
    [InlineData("urls.domain=Not_A_Domain", "domain")]
    public async Task Invalid_url_values_are_refused_by_the_schema(string value, string field)
    {
        var result = await Helm.TemplateAsync([value]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(field, result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Httproute_mode_without_a_parent_gateway_is_refused()
    {
        var result = await Helm.TemplateAsync(["urls.publish=httproute", "urls.domain=fn.example.com"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("parentRefs", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restricted_gateway_port_admits_the_ingress_controller_namespace()
    {
        var manifests = await Helm.RenderAsync(
        [
            .. IngressValues, "urls.controllerNamespace=ingress-nginx",
            "networkPolicy.gatewayIngressFrom[0].namespaceSelector.matchLabels.team=apps",
        ]);

        var ingress = manifests.Single("NetworkPolicy", "fn-operator-gateway")["spec"]!["ingress"]!.AsArray();
        var urlRule = ingress.Single(r => r!["from"]?.AsArray().Any(p => (string?)p!["namespaceSelector"]?["matchLabels"]?["kubernetes.io/metadata.name"] == "ingress-nginx") == true)!;
        Assert.Equal([8080L], urlRule["ports"]!.AsArray().Select(p => (long)p!["port"]!));

        // Unrestricted (no gatewayIngressFrom): port 8080 is open to any source already, no extra rule.
        var open = (await Helm.RenderAsync([.. IngressValues, "urls.controllerNamespace=ingress-nginx"])).Single("NetworkPolicy", "fn-operator-gateway")["spec"]!["ingress"]!.AsArray();
        Assert.Contains(open, r => r!["from"] is null && r["ports"]!.AsArray().Any(p => (long?)p!["port"] == 8080));
        Assert.DoesNotContain(open, r => r!.ToJsonString().Contains("ingress-nginx", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ingress")]
    [InlineData("httproute")]
    public async Task Every_url_setting_the_chart_sets_is_a_FunctionUrlOptions_property(string mode)
    {
        var source = File.ReadAllText(Repo.At("operator", "FnOperator.Operator", "FunctionUrlOptions.cs"));
        var properties = Property().Matches(source).Select(m => m.Groups[1].Value).ToHashSet();
        var manifests = await Helm.RenderAsync(mode == "ingress" ? IngressValues : HttpRouteValues);

        var settings = WorkloadTests.Env(manifests.Single("Deployment", "fn-operator")).Keys.Where(k => k.StartsWith("Operator__Urls__", StringComparison.Ordinal)).ToList();
        Assert.True(settings.Count >= 5, string.Join(", ", settings));
        Assert.All(settings, key => Assert.True(properties.Contains(key.Split("__")[2]), $"{key}: FunctionUrlOptions has no such property"));
        Assert.All(settings.Where(k => k.Contains("ParentRefs", StringComparison.Ordinal)), key => Assert.True(properties.Contains(key.Split("__")[4]), $"{key}: UrlParentRef has no such property"));
    }

    [GeneratedRegex(@"public\s+[\w<>,\s?]+\s+(\w+)\s*\{\s*get;\s*init;")]
    private static partial Regex Property();
}
