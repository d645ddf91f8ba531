using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

/// <summary>TokenReview, TokenRequest and SubjectAccessReview answered from the stored RBAC objects (docs/testing.md).</summary>
public sealed class ReviewTests : ServerTest
{
    private const string Rbac = "rbac.authorization.k8s.io";

    [Fact]
    public async Task Token_request_issues_a_token_that_token_review_maps_to_the_service_account_and_its_groups()
    {
        await Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "caller" } }, "team");
        var issued = await Client.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { Audiences = [] } }, "caller", "team");

        var review = await Client.AuthenticationV1.CreateTokenReviewAsync(new V1TokenReview { Spec = new V1TokenReviewSpec { Token = issued.Status.Token } });
        var bogus = await Client.AuthenticationV1.CreateTokenReviewAsync(new V1TokenReview { Spec = new V1TokenReviewSpec { Token = "nope" } });
        var missing = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() =>
            Client.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { Audiences = [] } }, "ghost", "team"));

        Assert.True(review.Status.Authenticated);
        Assert.Equal("system:serviceaccount:team:caller", review.Status.User.Username);
        Assert.Equal(["system:authenticated", "system:serviceaccounts", "system:serviceaccounts:team"], review.Status.User.Groups.Order());
        Assert.False(bogus.Status.Authenticated);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.Response.StatusCode);
    }

    [Theory]
    [InlineData("User", "alice", "team", "invoke", "hello", true)]
    [InlineData("User", "alice", "team", "invoke", "other", false)]
    [InlineData("User", "alice", "team", "update", "hello", false)]
    [InlineData("User", "alice", "elsewhere", "invoke", "hello", false)]
    [InlineData("User", "bob", "team", "invoke", "hello", false)]
    [InlineData("Group", "callers", "team", "invoke", "anything", true)]
    [InlineData("ServiceAccount", "team:caller", "team", "invoke", "anything", true)]
    [InlineData("ClusterRoleBinding", "ops", "any-namespace", "invoke", "x", true)]
    [InlineData("Aggregated", "dev", "team", "invoke", "x", true)]
    [InlineData("Aggregated", "dev", "team", "delete", "x", false)]
    public async Task Subject_access_review_follows_the_stored_rbac(string via, string who, string ns, string verb, string name, bool allowed)
    {
        await SeedRbacAsync();
        var (user, groups) = via switch
        {
            "Group" => ("carol", new List<string> { who }),
            "ServiceAccount" => ($"system:serviceaccount:{who}", ["system:serviceaccounts"]),
            _ => (who, new List<string>()),
        };

        var review = await Client.AuthorizationV1.CreateSubjectAccessReviewAsync(new V1SubjectAccessReview
        {
            Spec = new V1SubjectAccessReviewSpec
            {
                User = user,
                Groups = groups,
                ResourceAttributes = new V1ResourceAttributes { Group = "fnoperator.io", Resource = "functions", Verb = verb, NamespaceProperty = ns, Name = name },
            },
        });

        Assert.Equal(allowed, review.Status.Allowed);
        Assert.Equal(allowed, review.Status.Reason.StartsWith("RBAC: allowed by ", StringComparison.Ordinal));
    }

    private async Task SeedRbacAsync()
    {
        var rbac = Client.RbacAuthorizationV1;
        V1PolicyRule Invoke(params string[] names) => new() { ApiGroups = ["fnoperator.io"], Resources = ["functions"], Verbs = ["invoke"], ResourceNames = names.Length == 0 ? null : names };
        V1RoleRef Ref(string kind, string name) => new() { ApiGroup = Rbac, Kind = kind, Name = name };
        await rbac.CreateNamespacedRoleAsync(new V1Role { Metadata = new V1ObjectMeta { Name = "hello-only" }, Rules = [Invoke("hello")] }, "team");
        await rbac.CreateNamespacedRoleAsync(new V1Role { Metadata = new V1ObjectMeta { Name = "all" }, Rules = [Invoke()] }, "team");
        await rbac.CreateNamespacedRoleBindingAsync(new V1RoleBinding { Metadata = new V1ObjectMeta { Name = "alice" }, RoleRef = Ref("Role", "hello-only"), Subjects = [new Rbacv1Subject { Kind = "User", Name = "alice", ApiGroup = Rbac }] }, "team");
        await rbac.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "callers" },
            RoleRef = Ref("Role", "all"),
            Subjects = [new Rbacv1Subject { Kind = "Group", Name = "callers", ApiGroup = Rbac }, new Rbacv1Subject { Kind = "ServiceAccount", Name = "caller", NamespaceProperty = "team" }],
        }, "team");
        await rbac.CreateClusterRoleAsync(new V1ClusterRole { Metadata = new V1ObjectMeta { Name = "invoker", Labels = new Dictionary<string, string> { ["aggregate-to-dev"] = "true" } }, Rules = [Invoke()] });
        await rbac.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding { Metadata = new V1ObjectMeta { Name = "ops" }, RoleRef = Ref("ClusterRole", "invoker"), Subjects = [new Rbacv1Subject { Kind = "User", Name = "ops", ApiGroup = Rbac }] });
        await rbac.CreateClusterRoleAsync(new V1ClusterRole
        {
            Metadata = new V1ObjectMeta { Name = "dev" },
            AggregationRule = new V1AggregationRule { ClusterRoleSelectors = [new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["aggregate-to-dev"] = "true" } }] },
        });
        await rbac.CreateNamespacedRoleBindingAsync(new V1RoleBinding { Metadata = new V1ObjectMeta { Name = "dev" }, RoleRef = Ref("ClusterRole", "dev"), Subjects = [new Rbacv1Subject { Kind = "User", Name = "dev", ApiGroup = Rbac }] }, "team");
    }
}
