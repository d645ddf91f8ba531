using System.Net;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Auth;
using FnOperator.Gateway.Functions;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;

namespace FnOperator.Gateway.Tests.Auth;

/// <summary>Bearer ServiceAccount tokens (TokenReview) authorized by SubjectAccessReview against RBAC in the API test server.</summary>
public sealed class InvokeAuthorizationTests
{
    [Fact]
    public async Task Service_account_token_may_invoke_in_its_granted_namespace_is_denied_elsewhere_and_loses_access_after_the_cache_ttl()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var cluster = await AuthCluster.StartAsync(time: time);
        cluster.Add("team", "hello");
        cluster.Add("other", "hello");
        var token = await cluster.ServiceAccountTokenAsync("team", "caller");
        await cluster.GrantAsync("team", AuthCluster.ServiceAccount("team", "caller"));

        using var allowed = await cluster.DryRunAsync("team.hello", token);
        using var elsewhere = await cluster.DryRunAsync("other/hello", token);
        var reviewsBefore = (cluster.Server.Reviews.TokenReviews, cluster.Server.Reviews.SubjectAccessReviews);
        await cluster.Client.RbacAuthorizationV1.DeleteNamespacedRoleBindingAsync("fn-invoker", "team");
        using var cached = await cluster.DryRunAsync("team.hello", token);
        var reviewsCached = (cluster.Server.Reviews.TokenReviews, cluster.Server.Reviews.SubjectAccessReviews);
        time.Advance(AuthCluster.Required.DecisionCacheTtl + TimeSpan.FromSeconds(1));
        using var expired = await cluster.DryRunAsync("team.hello", token);

        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        await AssertErrorAsync(elsewhere, "AccessDeniedException",
            "User: system:serviceaccount:team:caller is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:other.hello because no RBAC rule allows verb invoke on functions.fnoperator.io in namespace other",
            messageKey: "Message");
        Assert.Equal(HttpStatusCode.NoContent, cached.StatusCode);
        Assert.Equal(reviewsBefore, reviewsCached);
        await AssertErrorAsync(expired, "AccessDeniedException", null, messageKey: "Message");
    }

    [Fact]
    public async Task Invalid_or_missing_credentials_get_the_aws_errors_and_anonymous_invoke_works_only_in_listed_namespaces()
    {
        await using var cluster = await AuthCluster.StartAsync(AuthCluster.Required with { AnonymousNamespaces = ["public"] });
        cluster.Add("public", "open");
        cluster.Add("team", "hello");

        using var bogus = await cluster.DryRunAsync("team.hello", "not-a-token");
        using var missing = await cluster.DryRunAsync("team.hello");
        using var open = await cluster.DryRunAsync("public.open");
        using var openGet = await cluster.Http.GetAsync("/2015-03-31/functions/public.open");
        using var health = await cluster.Http.GetAsync("/healthz");
        using var basic = new HttpRequestMessage(HttpMethod.Post, "/2015-03-31/functions/team.hello/invocations") { Content = new StringContent("{}") };
        basic.Headers.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNz");
        using var basicResponse = await cluster.Http.SendAsync(basic);

        await AssertErrorAsync(bogus, "UnrecognizedClientException", "The security token included in the request is invalid.");
        await AssertErrorAsync(missing, "MissingAuthenticationTokenException", "Missing Authentication Token");
        Assert.Equal(HttpStatusCode.NoContent, open.StatusCode);
        await AssertErrorAsync(openGet, "MissingAuthenticationTokenException", "Missing Authentication Token");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        await AssertErrorAsync(basicResponse, "IncompleteSignatureException", null);
    }

    [Fact]
    public async Task Invoke_granted_through_the_invoker_cluster_role_aggregated_into_edit_and_get_needs_its_own_verb()
    {
        await using var cluster = await AuthCluster.StartAsync();
        cluster.Add("team", "hello");
        var token = await cluster.ServiceAccountTokenAsync("team", "caller");
        var rbac = cluster.Client.RbacAuthorizationV1;
        // The chart's fnoperator-invoker (charts/fn-operator/templates/rbac-invoker.yaml) and the built-in aggregated "edit" role.
        await rbac.CreateClusterRoleAsync(new V1ClusterRole
        {
            Metadata = new V1ObjectMeta { Name = "fnoperator-invoker", Labels = new Dictionary<string, string> { ["rbac.authorization.k8s.io/aggregate-to-edit"] = "true" } },
            Rules = [new V1PolicyRule { ApiGroups = ["fnoperator.io"], Resources = ["functions"], Verbs = ["invoke"] }],
        });
        await rbac.CreateClusterRoleAsync(new V1ClusterRole
        {
            Metadata = new V1ObjectMeta { Name = "edit" },
            AggregationRule = new V1AggregationRule { ClusterRoleSelectors = [new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["rbac.authorization.k8s.io/aggregate-to-edit"] = "true" } }] },
        });
        await rbac.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "caller-edit" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "edit" },
            Subjects = [AuthCluster.ServiceAccount("team", "caller")],
        }, "team");

        using var invoked = await cluster.DryRunAsync("team/hello", token);
        using var get = new HttpRequestMessage(HttpMethod.Get, "/2015-03-31/functions/team.hello");
        get.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var got = await cluster.Http.SendAsync(get);

        Assert.Equal(HttpStatusCode.NoContent, invoked.StatusCode);
        await AssertErrorAsync(got, "AccessDeniedException", "User: system:serviceaccount:team:caller is not authorized to perform: lambda:GetFunction", messageKey: "Message", prefix: true);
    }

    [Fact]
    public async Task Failed_authentications_from_one_source_are_throttled_after_the_burst_and_recover_over_time()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var cluster = await AuthCluster.StartAsync(AuthCluster.Required with { FailureBurst = 3 }, time);
        cluster.Add("team", "hello");
        var token = await cluster.ServiceAccountTokenAsync("team", "caller");
        await cluster.GrantAsync("team", AuthCluster.ServiceAccount("team", "caller"));

        var failures = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var failed = await cluster.DryRunAsync("team.hello", "guess-" + i);
            failures.Add(failed.StatusCode);
        }

        using var blocked = await cluster.DryRunAsync("team.hello", token);
        time.Advance(TimeSpan.FromSeconds(30));
        using var recovered = await cluster.DryRunAsync("team.hello", token);
        var metrics = await cluster.Http.GetStringAsync("/metrics");

        Assert.All(failures, s => Assert.Equal(HttpStatusCode.Forbidden, s));
        Assert.Equal((HttpStatusCode)429, blocked.StatusCode);
        Assert.Equal("TooManyRequestsException", blocked.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Equal(HttpStatusCode.NoContent, recovered.StatusCode);
        Assert.Contains("fnoperator_gateway_auth_requests_total{method=\"bearer\",result=\"denied\",error_type=\"UnrecognizedClientException\"} 3", metrics, StringComparison.Ordinal);
        Assert.Contains("fnoperator_gateway_auth_requests_total{method=\"bearer\",result=\"allowed\",error_type=\"\"} 1", metrics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", "/2015-03-31/functions/team.hello/invocations", "invoke", "functions", "team", "hello")]
    [InlineData("GET", "/2015-03-31/functions/team%2Fhello", "get", "functions", "team", "hello")]
    [InlineData("GET", "/2015-03-31/functions/", "list", "functions", null, null)]
    [InlineData("POST", "/2015-03-31/functions", "create", "functions", null, null)]
    [InlineData("PUT", "/2015-03-31/functions/team.hello/code", "update", "functions", "team", "hello")]
    [InlineData("PUT", "/2015-03-31/functions/team.hello/configuration", "update", "functions", "team", "hello")]
    [InlineData("POST", "/2015-03-31/functions/team.hello/versions", "update", "functions", "team", "hello")]
    [InlineData("PUT", "/2017-10-31/functions/team.hello/concurrency", "update", "functions", "team", "hello")]
    [InlineData("DELETE", "/2015-03-31/functions/team.hello", "delete", "functions", "team", "hello")]
    [InlineData("POST", "/2015-03-31/functions/team.hello/aliases", "create", "aliases", "team", null)]
    [InlineData("PUT", "/2015-03-31/functions/team.hello/aliases/live", "update", "aliases", "team", null)]
    [InlineData("DELETE", "/2015-03-31/functions/team.hello/aliases/live", "delete", "aliases", "team", null)]
    [InlineData("POST", "/2015-03-31/functions/hello/invocations", "invoke", "functions", "default", "hello")]
    [InlineData("POST", "/2015-03-31/functions/team/hello/invocations", "invoke", "functions", "team", "hello")]
    [InlineData("GET", "/2015-03-31/functions/team/hello", "get", "functions", "team", "hello")]
    [InlineData("GET", "/2015-03-31/functions/team.hello/policy", "get", "functions", null, null)]
    public void Lambda_api_calls_map_to_rbac_verbs(string method, string path, string verb, string resource, string? ns, string? name)
    {
        var registry = new FunctionRegistry(FunctionRegistry.DefaultRegion, FunctionRegistry.DefaultAccountId);

        var operation = LambdaOperations.Match(method, path, registry);

        Assert.NotNull(operation);
        Assert.Equal((verb, resource, ns, name), (operation.Verb, operation.Resource, operation.Namespace, operation.Name));
    }

    internal static async Task AssertErrorAsync(HttpResponseMessage response, string errorType, string? message, string messageKey = "message", bool prefix = false)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{(int)response.StatusCode}: {body}");
        Assert.Equal(errorType, response.Headers.GetValues("x-amzn-ErrorType").Single());
        var text = (string?)JsonNode.Parse(body)![messageKey];
        Assert.NotNull(text);
        if (message is not null)
        {
            if (prefix)
            {
                Assert.StartsWith(message, text, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(message, text);
            }
        }
    }
}
