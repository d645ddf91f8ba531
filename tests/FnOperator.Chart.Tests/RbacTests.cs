using System.Text.Json.Nodes;

namespace FnOperator.Chart.Tests;

public sealed class RbacTests
{
    private static readonly string[] DangerousVerbs = ["escalate", "bind", "impersonate", "approve", "sign"];

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Rules_have_no_wildcards_no_secret_access_and_no_dangerous_verbs(string valueSet)
    {
        var manifests = await ValueSets.RenderAsync(valueSet);
        var roles = manifests.OfKind("ClusterRole").Concat(manifests.OfKind("Role")).ToList();
        Assert.NotEmpty(roles);
        foreach (var role in roles)
        {
            foreach (var rule in Rules(role))
            {
                var where = $"{Manifests.Kind(role)}/{Manifests.Name(role)} rule {rule.ToJsonString()}";
                foreach (var field in new[] { "apiGroups", "resources", "verbs", "resourceNames" })
                {
                    Assert.True(!Manifests.Strings(rule[field]).Any(v => v.Contains('*')), $"{where}: wildcard in {field}");
                }

                Assert.True(rule["nonResourceURLs"] is null, $"{where}: nonResourceURLs");
                // The one exception: the gateway lists the access-key Secrets of its own namespace (invoke auth, RbacInvokeAuthTests).
                var accessKeys = Manifests.Kind(role) == "Role" && Manifests.Name(role) == "fn-operator-gateway-access-keys" && Manifests.Namespace(role) == "fn-system";
                // And the operator's pull-credential Secrets (get/create/update one by name, never list or watch).
                var pullCredentials = Manifests.Name(role) == "fn-operator"
                    && Manifests.Strings(rule["resources"]).SequenceEqual(["secrets"])
                    && Manifests.Strings(rule["verbs"]).Order().SequenceEqual(["create", "get", "update"]);
                Assert.True(accessKeys || pullCredentials || !Manifests.Strings(rule["resources"]).Any(r => r.StartsWith("secrets", StringComparison.Ordinal)), $"{where}: secrets");
                Assert.True(!Manifests.Strings(rule["verbs"]).Intersect(DangerousVerbs).Any(), $"{where}: dangerous verb");
                Assert.NotEmpty(Manifests.Strings(rule["verbs"]));
            }
        }
    }

    [Fact]
    public async Task Operator_cluster_role_grants_exactly_what_the_operator_calls()
    {
        var manifests = await Helm.RenderAsync();
        var role = manifests.Single("ClusterRole", "fn-operator");
        var grants = Grants(role);
        var expected = new Dictionary<string, string[]>
        {
            ["fnoperator.io/functions"] = ["get", "list", "watch"],
            ["fnoperator.io/functions/status"] = ["get", "update"],
            ["fnoperator.io/functions/finalizers"] = ["update"],
            ["fnoperator.io/layers"] = ["list", "watch"],
            ["fnoperator.io/aliases"] = ["get", "list", "watch"],
            ["fnoperator.io/aliases/status"] = ["get", "update"],
            ["apps/deployments"] = ["create", "delete", "get", "list", "update", "watch"],
            ["apps/controllerrevisions"] = ["create", "delete", "get", "list", "watch"],
            ["fnoperator.io/layers/status"] = ["get", "update"],
            ["/configmaps"] = ["create", "delete", "get"],
            ["/secrets"] = ["create", "get", "update"],
            ["/serviceaccounts"] = ["get"],
            ["fnoperator.io/eventsourcemappings"] = ["list", "watch"],
            ["fnoperator.io/eventsourcemappings/status"] = ["get", "update"],
            ["apps/deployments/scale"] = ["patch"],
            ["/pods"] = ["list", "patch"],
            ["/events"] = ["create", "patch"],
        };
        Assert.Equal(expected.Keys.Order(), grants.Keys.Order());
        foreach (var (resource, verbs) in expected)
        {
            Assert.Equal(verbs.Order(), grants[resource].Order());
        }
    }

    [Fact]
    public async Task Gateway_grants_exactly_what_the_gateway_calls()
    {
        var manifests = await Helm.RenderAsync();
        var grants = Grants(manifests.Single("ClusterRole", "fn-operator-gateway"));
        var expected = new Dictionary<string, string[]>
        {
            ["fnoperator.io/functions"] = ["get", "list", "patch", "watch"],
            ["fnoperator.io/aliases"] = ["create", "delete", "list", "update", "watch"],
            ["apps/controllerrevisions"] = ["delete", "list", "watch"],
        };
        Assert.Equal(expected.Keys.Order(), grants.Keys.Order());
        foreach (var (resource, verbs) in expected)
        {
            Assert.Equal(verbs.Order(), grants[resource].Order());
        }
    }

    [Fact]
    public async Task Leader_election_lease_is_namespaced_and_limited_to_its_name()
    {
        var manifests = await Helm.RenderAsync();
        var role = manifests.Single("Role", "fn-operator-leader-election");
        Assert.Equal("fn-system", Manifests.Namespace(role));
        var rules = Rules(role).ToList();
        Assert.All(rules, r => Assert.Equal(["leases"], Manifests.Strings(r["resources"])));
        var named = rules.Single(r => r["resourceNames"] is not null);
        Assert.Equal(["fn-operator-leader"], Manifests.Strings(named["resourceNames"]));
        Assert.Equal(["get", "update"], Manifests.Strings(named["verbs"]).Order());
        var unnamed = rules.Single(r => r["resourceNames"] is null);
        Assert.Equal(["create"], Manifests.Strings(unnamed["verbs"]));
        var binding = manifests.Single("RoleBinding", "fn-operator-leader-election");
        Assert.Equal("fn-operator", (string?)binding["subjects"]![0]!["name"]);
    }

    [Fact]
    public async Task Watch_namespace_turns_cluster_roles_into_roles_in_that_namespace()
    {
        var manifests = await ValueSets.RenderAsync("watch-namespace");
        // Left cluster-wide, on purpose: the review APIs are cluster-scoped, and the invoker role is for others to bind.
        Assert.Equal(["fn-operator-gateway-auth", "fnoperator-invoker"], manifests.OfKind("ClusterRole").Select(Manifests.Name).Order());
        Assert.Equal(["fn-operator-gateway-auth"], manifests.OfKind("ClusterRoleBinding").Select(Manifests.Name));
        foreach (var name in new[] { "fn-operator", "fn-operator-gateway" })
        {
            Assert.Equal("team-a", Manifests.Namespace(manifests.Single("Role", name)));
            var binding = manifests.Single("RoleBinding", name);
            Assert.Equal("team-a", Manifests.Namespace(binding));
            Assert.Equal("Role", (string?)binding["roleRef"]!["kind"]);
            Assert.Equal("fn-system", (string?)binding["subjects"]![0]!["namespace"]);
        }
    }

    [Theory]
    [InlineData("default")]
    [InlineData("watch-namespace")]
    public async Task Operator_watches_only_the_gateway_services_endpoint_slices_in_the_release_namespace(string valueSet)
    {
        var manifests = valueSet == "default" ? await Helm.RenderAsync(["nats.enabled=true", "gateway.replicas=3", "gateway.serviceName=my-gateway"]) : await ValueSets.RenderAsync(valueSet);
        var role = manifests.Single("Role", "fn-operator-gateway-replicas");
        Assert.Equal("fn-system", Manifests.Namespace(role));
        var grants = Grants(role);
        Assert.Equal(["discovery.k8s.io/endpointslices"], grants.Keys);
        Assert.Equal(["list", "watch"], grants["discovery.k8s.io/endpointslices"].Order());
        var binding = manifests.Single("RoleBinding", "fn-operator-gateway-replicas");
        Assert.Equal("fn-system", Manifests.Namespace(binding));
        Assert.Equal(("Role", "fn-operator-gateway-replicas"), ((string?)binding["roleRef"]!["kind"], (string?)binding["roleRef"]!["name"]));
        Assert.Equal("fn-operator", (string?)binding["subjects"]![0]!["name"]);

        // The autoscaler is told that Service's name (its EndpointSlices carry kubernetes.io/service-name=<name>).
        var service = manifests.Single("Service", valueSet == "default" ? "my-gateway" : "fn-gateway");
        Assert.Contains("http", service["spec"]!["ports"]!.AsArray().Select(p => (string?)p!["name"]));
        var env = WorkloadTests.Env(manifests.Single("Deployment", "fn-operator"));
        Assert.Equal(Manifests.Name(service), (string?)env["Operator__Autoscaler__GatewayService"]!["value"]);
    }

    [Fact]
    public async Task Bindings_point_at_the_service_accounts_the_pods_run_as()
    {
        var manifests = await Helm.RenderAsync();
        foreach (var (deployment, role) in new[] { ("fn-operator", "fn-operator"), ("fn-operator-gateway", "fn-operator-gateway") })
        {
            var sa = (string?)manifests.Single("Deployment", deployment)["spec"]!["template"]!["spec"]!["serviceAccountName"];
            Assert.NotNull(manifests.Find("ServiceAccount", sa!));
            var subject = manifests.Single("ClusterRoleBinding", role)["subjects"]![0]!;
            Assert.Equal(sa, (string?)subject["name"]);
            Assert.Equal("fn-system", (string?)subject["namespace"]);
        }
    }

    internal static IEnumerable<JsonObject> Rules(JsonObject role) => (role["rules"]?.AsArray() ?? []).OfType<JsonObject>();

    /// <summary>"group/resource" → verbs, merged over the role's rules.</summary>
    internal static Dictionary<string, List<string>> Grants(JsonObject role)
    {
        var grants = new Dictionary<string, List<string>>();
        foreach (var rule in Rules(role))
        {
            foreach (var group in Manifests.Strings(rule["apiGroups"]))
            {
                foreach (var resource in Manifests.Strings(rule["resources"]))
                {
                    var key = group + "/" + resource;
                    grants.TryAdd(key, []);
                    grants[key].AddRange(Manifests.Strings(rule["verbs"]));
                }
            }
        }

        return grants;
    }
}
