using System.Text.RegularExpressions;

namespace FnOperator.Chart.Tests;

/// <summary>
/// The gateway's invoke-auth RBAC: exactly the API calls operator/FnOperator.Gateway/Auth makes (found in its source,
/// so a new call without a rule fails here), and the fnoperator-invoker ClusterRole.
/// </summary>
public sealed partial class RbacInvokeAuthTests
{
    /// <summary>Every KubernetesClient call the auth code may make → the "group/resource" and verb it needs.</summary>
    private static readonly Dictionary<string, (string Grant, string Verb, string Role)> Calls = new()
    {
        ["CreateTokenReviewAsync"] = ("authentication.k8s.io/tokenreviews", "create", "ClusterRole/fn-operator-gateway-auth"),
        ["CreateSubjectAccessReviewAsync"] = ("authorization.k8s.io/subjectaccessreviews", "create", "ClusterRole/fn-operator-gateway-auth"),
        ["ListNamespacedSecretAsync"] = ("/secrets", "list", "Role/fn-operator-gateway-access-keys"),
    };

    [Fact]
    public async Task Gateway_auth_roles_grant_exactly_what_the_auth_code_calls()
    {
        var source = string.Concat(Directory.GetFiles(Repo.At("operator", "FnOperator.Gateway", "Auth"), "*.cs").Select(File.ReadAllText));
        var called = ClientCall().Matches(source).Select(m => m.Groups[1].Value).ToHashSet();
        var manifests = await Helm.RenderAsync();

        Assert.Equal(Calls.Keys.Order(), called.Order());
        foreach (var role in Calls.Values.GroupBy(c => c.Role))
        {
            var (kind, name) = (role.Key.Split('/')[0], role.Key.Split('/')[1]);
            var rendered = manifests.Single(kind, name);
            var grants = RbacTests.Grants(rendered);
            Assert.Equal(role.Select(c => c.Grant).Order(), grants.Keys.Order());
            foreach (var call in role)
            {
                Assert.Equal([call.Verb], grants[call.Grant]);
            }

            var binding = manifests.Single(kind + "Binding", name);
            Assert.Equal("fn-operator-gateway", (string?)binding["subjects"]![0]!["name"]);
        }

        Assert.Equal("fn-system", Manifests.Namespace(manifests.Single("Role", "fn-operator-gateway-access-keys")));
        var args = Manifests.Strings(manifests.Single("Deployment", "fn-operator-gateway")["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]);
        Assert.Equal("required", args[args.ToList().IndexOf("--auth") + 1]);
        Assert.DoesNotContain("--anonymous-namespaces", args);
    }

    [Fact]
    public async Task Invoker_cluster_role_grants_invoke_on_functions_and_aggregates_into_edit_and_admin()
    {
        var manifests = await Helm.RenderAsync();
        var invoker = manifests.Single("ClusterRole", "fnoperator-invoker");
        var labels = invoker["metadata"]!["labels"]!;

        Assert.Equal(["fnoperator.io/functions"], RbacTests.Grants(invoker).Keys);
        Assert.Equal(["invoke"], RbacTests.Grants(invoker)["fnoperator.io/functions"]);
        Assert.Equal("true", (string?)labels["rbac.authorization.k8s.io/aggregate-to-edit"]);
        Assert.Equal("true", (string?)labels["rbac.authorization.k8s.io/aggregate-to-admin"]);
    }

    [Fact]
    public async Task Auth_off_renders_no_auth_rbac_and_anonymous_namespaces_reach_the_gateway()
    {
        var off = await Helm.RenderAsync("invokeAuth.mode=off", "invokeAuth.aggregateToEdit=false");
        var open = await Helm.RenderAsync("invokeAuth.anonymousNamespaces={public,demo}");

        Assert.Null(off.Find("ClusterRole", "fn-operator-gateway-auth"));
        Assert.Null(off.Find("Role", "fn-operator-gateway-access-keys"));
        Assert.Null(off.Single("ClusterRole", "fnoperator-invoker")["metadata"]!["labels"]!["rbac.authorization.k8s.io/aggregate-to-edit"]);
        var offArgs = Manifests.Strings(off.Single("Deployment", "fn-operator-gateway")["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]).ToList();
        Assert.Equal("off", offArgs[offArgs.IndexOf("--auth") + 1]);
        var openArgs = Manifests.Strings(open.Single("Deployment", "fn-operator-gateway")["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]).ToList();
        Assert.Equal("public,demo", openArgs[openArgs.IndexOf("--anonymous-namespaces") + 1]);
    }

    [Fact]
    public async Task Operator_service_account_is_bound_to_the_invoker_role_when_invoke_auth_is_required()
    {
        var cluster = await Helm.RenderAsync();
        var scoped = await Helm.RenderAsync("operator.watchNamespace=team-a");
        var off = await Helm.RenderAsync("invokeAuth.mode=off");
        var opted = await Helm.RenderAsync("operator.invokeGrant=false");

        var binding = cluster.Single("ClusterRoleBinding", "fn-operator-invoker");
        Assert.Equal(("ClusterRole", "fnoperator-invoker"), ((string?)binding["roleRef"]!["kind"], (string?)binding["roleRef"]!["name"]));
        var sa = (string?)cluster.Single("Deployment", "fn-operator")["spec"]!["template"]!["spec"]!["serviceAccountName"];
        Assert.Equal(("ServiceAccount", sa, "fn-system"), ((string?)binding["subjects"]![0]!["kind"], (string?)binding["subjects"]![0]!["name"], (string?)binding["subjects"]![0]!["namespace"]));
        Assert.Equal(true, (bool?)cluster.Single("Deployment", "fn-operator")["spec"]!["template"]!["spec"]!["automountServiceAccountToken"]);

        Assert.Null(scoped.Find("ClusterRoleBinding", "fn-operator-invoker"));
        var roleBinding = scoped.Single("RoleBinding", "fn-operator-invoker");
        Assert.Equal("team-a", Manifests.Namespace(roleBinding));
        Assert.Equal("fnoperator-invoker", (string?)roleBinding["roleRef"]!["name"]);

        Assert.Null(off.Find("ClusterRoleBinding", "fn-operator-invoker"));
        Assert.Null(opted.Find("ClusterRoleBinding", "fn-operator-invoker"));
    }

    [GeneratedRegex(@"client\.\w+\.(\w+Async)\(")]
    private static partial Regex ClientCall();
}
