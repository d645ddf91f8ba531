using System.Net;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Tests.Controllers;
using FnOperator.Operator.Tests.Versions;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.Operator.Tests.Urls;

/// <summary>Function URLs published as Ingresses (Operator:Urls:Publish=Ingress), against the API test server.</summary>
public sealed class FunctionUrlIngressTests : IAsyncLifetime
{
    private const string Gateway = "fn-system";
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync(settings:
    [
        "--Operator:Urls:Publish", "ingress",
        "--Operator:Urls:Domain", "fn.example.com",
        "--Operator:Urls:IngressClassName", "nginx",
        "--Operator:Urls:TlsSecretName", "urls-{namespace}-tls",
        "--Operator:Urls:IngressAnnotationsJson", """{"cert-manager.io/cluster-issuer":"letsencrypt"}""",
    ]);

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task A_function_with_a_url_gets_an_ingress_to_the_gateway_service_with_tls_and_an_https_status_url()
    {
        var fn = await harness.CreateAsync(TestFunctions.Node("hello", change: s => s.Url = new FunctionUrlSpec()));

        await harness.WaitConditionAsync("hello", FunctionUrlReasons.UrlReady, "True", FunctionUrlReasons.UrlPublished);
        var ingress = (await UrlObjects.IngressAsync(harness, "hello.default"))!;
        Assert.Equal(Gateway, ingress.Metadata.NamespaceProperty);
        Assert.Null(ingress.Metadata.OwnerReferences);
        Assert.Equal(("hello", "default", "function-url"), (ingress.Metadata.Labels[Names.LabelFunction], ingress.Metadata.Labels[FunctionUrlBuilder.LabelFunctionNamespace], ingress.Metadata.Labels[Names.LabelComponent]));
        Assert.Equal("letsencrypt", ingress.Metadata.Annotations["cert-manager.io/cluster-issuer"]);
        Assert.Equal("nginx", ingress.Spec.IngressClassName);
        var rule = Assert.Single(ingress.Spec.Rules);
        Assert.Equal("hello.default.fn.example.com", rule.Host);
        var path = Assert.Single(rule.Http.Paths);
        Assert.Equal(("/", "Prefix", "fn-gateway", 8080), (path.Path, path.PathType, path.Backend.Service.Name, path.Backend.Service.Port.Number));
        var tls = Assert.Single(ingress.Spec.Tls);
        Assert.Equal(("urls-default-tls", "hello.default.fn.example.com"), (tls.SecretName, Assert.Single(tls.Hosts)));

        var status = (await harness.GetAsync("hello"))!.Status!;
        Assert.Equal("https://hello.default.fn.example.com/", status.FunctionUrl);
        await harness.WaitEventAsync("hello", "Normal", FunctionUrlReasons.CreatedIngress);
        await harness.WaitReadyAsync("hello");
        Assert.Equal(fn.Metadata.Uid, (await harness.GetAsync("hello"))!.Metadata.Uid);
    }

    [Fact]
    public async Task Removing_the_url_or_the_function_deletes_its_ingress()
    {
        await harness.CreateAsync(TestFunctions.Node("gone", change: s => s.Url = new FunctionUrlSpec()));
        await Eventually.True(async () => await UrlObjects.IngressAsync(harness, "gone.default") is not null, "Ingress created");

        await harness.UpdateAsync("gone", s => s.Url = null);
        await Eventually.True(async () => await UrlObjects.IngressAsync(harness, "gone.default") is null, "Ingress deleted with the url");
        await Eventually.True(async () => (await harness.GetAsync("gone"))!.Status is { FunctionUrl: null } status && status.Condition(FunctionUrlReasons.UrlReady) is null && status.ObservedGeneration == 2, "status without URL");
        await harness.WaitEventAsync("gone", "Normal", FunctionUrlReasons.DeletedIngress);

        await harness.UpdateAsync("gone", s => s.Url = new FunctionUrlSpec());
        await Eventually.True(async () => await UrlObjects.IngressAsync(harness, "gone.default") is not null, "Ingress created again");
        await harness.DeleteAsync("gone");
        await Eventually.True(async () => await UrlObjects.IngressAsync(harness, "gone.default") is null, "Ingress deleted with the Function");
    }

    [Fact]
    public async Task An_edited_ingress_is_repaired_and_a_leftover_of_a_deleted_function_is_removed()
    {
        await harness.CreateAsync(TestFunctions.Node("drift", change: s => s.Url = new FunctionUrlSpec()));
        await Eventually.True(async () => await UrlObjects.IngressAsync(harness, "drift.default") is not null, "Ingress created");

        var edited = (await UrlObjects.IngressAsync(harness, "drift.default"))!;
        edited.Spec.Rules[0].Host = "evil.example.com";
        edited.Spec.Tls = null;
        await harness.Client.NetworkingV1.ReplaceNamespacedIngressAsync(edited, "drift.default", Gateway);
        await Eventually.True(async () => (await UrlObjects.IngressAsync(harness, "drift.default"))!.Spec is { } spec
            && spec.Rules[0].Host == "drift.default.fn.example.com" && spec.Tls?.Count == 1, "Ingress repaired");

        // An Ingress of ours for a Function that no longer exists (deleted while no operator ran): the informer's list enqueues it.
        var orphan = FunctionUrlBuilder.Ingress(TestFunctions.Node("ghost", ns: "team-a"), new FunctionUrlOptions { Publish = UrlPublishMode.Ingress, Domain = "fn.example.com" }, Gateway);
        await harness.Client.NetworkingV1.CreateNamespacedIngressAsync(orphan, Gateway);
        await Eventually.True(async () => await UrlObjects.IngressAsync(harness, "ghost.team-a") is null, "orphaned Ingress removed");
    }

    [Fact]
    public async Task A_qualifier_naming_no_alias_is_AliasNotFound_until_the_alias_exists()
    {
        await harness.CreateAsync(TestFunctions.Node("canary", change: s => s.Url = new FunctionUrlSpec { Qualifier = "live" }));

        await harness.WaitConditionAsync("canary", FunctionUrlReasons.UrlReady, "False", FunctionUrlReasons.AliasNotFound);
        await harness.WaitEventAsync("canary", "Warning", FunctionUrlReasons.AliasNotFound);
        Assert.Null(await UrlObjects.IngressAsync(harness, "canary.default"));
        Assert.Null((await harness.GetAsync("canary"))!.Status!.FunctionUrl);
        await harness.WaitReadyAsync("canary"); // the Invoke API still serves it: UrlReady is informational

        await harness.CreateAliasAsync("live", "canary", "$LATEST");
        await harness.WaitConditionAsync("canary", FunctionUrlReasons.UrlReady, "True", FunctionUrlReasons.UrlPublished);
        Assert.NotNull(await UrlObjects.IngressAsync(harness, "canary.default"));
    }

    [Fact]
    public async Task The_api_server_refuses_a_url_qualifier_naming_a_version_number()
    {
        // Lambda allows only an alias or $LATEST; the CRD's pattern says so before the operator sees it.
        var refused = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() =>
            harness.CreateAsync(TestFunctions.Node("numbered", change: s => s.Url = new FunctionUrlSpec { Qualifier = "3" })));

        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, refused.Response.StatusCode);
        Assert.Contains("spec.url.qualifier", refused.Response.Content, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dotted.name", null, "not a DNS label")]
    public async Task A_url_that_cannot_exist_is_InvalidUrl_and_publishes_nothing(string name, string? qualifier, string message)
    {
        await harness.CreateAsync(TestFunctions.Node(name, change: s => s.Url = new FunctionUrlSpec { Qualifier = qualifier }));

        await harness.WaitConditionAsync(name, FunctionUrlReasons.UrlReady, "False", FunctionUrlReasons.InvalidUrl);
        var condition = (await harness.GetAsync(name))!.Status!.Condition(FunctionUrlReasons.UrlReady)!;
        Assert.Contains(message, condition.Message, StringComparison.Ordinal);
        await harness.WaitEventAsync(name, "Warning", FunctionUrlReasons.InvalidUrl);
        Assert.DoesNotContain((await harness.Client.NetworkingV1.ListNamespacedIngressAsync(Gateway, labelSelector: FunctionUrlBuilder.Selector)).Items, i => i.Metadata.Labels[Names.LabelFunction] == name);
    }

    [Fact]
    public async Task Functions_without_a_url_cost_no_ingress_requests()
    {
        static bool Ingresses(SentRequest r) => r.Path.Contains("/ingresses", StringComparison.Ordinal);
        await harness.CreateAsync(TestFunctions.Node("plain"));
        await harness.WaitReadyAsync("plain");
        var before = harness.Requests.All.Count(Ingresses); // the informer's list and watch

        await harness.UpdateAsync("plain", s => s.MemoryMiB = 256);
        await harness.WaitReadyAsync("plain", generation: 2);
        var reconciles = harness.Replicas[0].Reconciles;
        await harness.DeleteAsync("plain");
        await Eventually.True(() => harness.Replicas[0].Reconciles > reconciles, "the deleted Function reconciled");

        // The reconciles of a Function without a url, and of its deletion, read the cache: no list, get or delete.
        Assert.Equal(before, harness.Requests.All.Count(Ingresses));
    }

    [Fact]
    public async Task A_foreign_ingress_with_the_url_name_is_left_alone_and_reported()
    {
        var theirs = new V1Ingress
        {
            Metadata = new V1ObjectMeta { Name = "taken.default" },
            Spec = new V1IngressSpec { Rules = [new V1IngressRule { Host = "theirs.example.com", Http = new V1HTTPIngressRuleValue { Paths = [new V1HTTPIngressPath { Path = "/", PathType = "Prefix", Backend = new V1IngressBackend { Service = new V1IngressServiceBackend { Name = "theirs", Port = new V1ServiceBackendPort { Number = 80 } } } }] } }] },
        };
        await harness.Client.NetworkingV1.CreateNamespacedIngressAsync(theirs, Gateway);
        await harness.CreateAsync(TestFunctions.Node("taken", change: s => s.Url = new FunctionUrlSpec()));

        await harness.WaitConditionAsync("taken", FunctionUrlReasons.UrlReady, "False", FunctionUrlReasons.UrlConflict);
        Assert.Equal("theirs.example.com", (await UrlObjects.IngressAsync(harness, "taken.default"))!.Spec.Rules[0].Host);
    }
}

/// <summary>Function URLs published as Gateway API HTTPRoutes (Operator:Urls:Publish=HttpRoute).</summary>
public sealed class FunctionUrlHttpRouteTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync(settings:
    [
        "--Operator:Urls:Publish", "httproute",
        "--Operator:Urls:Domain", "fn.example.com",
        "--Operator:Urls:HttpRouteTls", "true",
        "--Operator:Urls:ParentRefs:0:Name", "public",
        "--Operator:Urls:ParentRefs:0:Namespace", "gateway-infra",
        "--Operator:Urls:ParentRefs:0:SectionName", "https",
    ]);

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task A_function_with_a_url_gets_an_httproute_attached_to_the_configured_gateway()
    {
        // Left over from an earlier Publish=Ingress: removed once the Function is published as an HTTPRoute.
        var old = FunctionUrlBuilder.Ingress(TestFunctions.Node("hello"), new FunctionUrlOptions { Publish = UrlPublishMode.Ingress, Domain = "fn.example.com" }, "fn-system");
        await harness.Client.NetworkingV1.CreateNamespacedIngressAsync(old, "fn-system");
        await harness.CreateAsync(TestFunctions.Node("hello", change: s => s.Url = new FunctionUrlSpec()));

        await harness.WaitConditionAsync("hello", FunctionUrlReasons.UrlReady, "True", FunctionUrlReasons.UrlPublished);
        var route = (await UrlObjects.HttpRouteAsync(harness, "hello.default"))!;
        var parent = Assert.Single(route.Spec.ParentRefs!);
        Assert.Equal(("public", "gateway-infra", "https", "Gateway"), (parent.Name, parent.Namespace, parent.SectionName, parent.Kind));
        Assert.Equal(["hello.default.fn.example.com"], route.Spec.Hostnames!);
        var rule = Assert.Single(route.Spec.Rules!);
        Assert.Equal(("PathPrefix", "/"), (rule.Matches![0].Path!.Type, rule.Matches[0].Path!.Value));
        var backend = Assert.Single(rule.BackendRefs!);
        Assert.Equal(("fn-gateway", 8080, (string?)null), (backend.Name, backend.Port, backend.Namespace)); // same namespace: no ReferenceGrant needed
        Assert.Equal("https://hello.default.fn.example.com/", (await harness.GetAsync("hello"))!.Status!.FunctionUrl);
        await harness.WaitEventAsync("hello", "Normal", FunctionUrlReasons.CreatedHttpRoute);
        await Eventually.True(async () => await UrlObjects.IngressAsync(harness, "hello.default") is null, "leftover Ingress removed");

        await harness.DeleteAsync("hello");
        await Eventually.True(async () => await UrlObjects.HttpRouteAsync(harness, "hello.default") is null, "HTTPRoute deleted with the Function");
    }

    [Fact]
    public async Task A_route_the_gateway_does_not_accept_is_RouteNotAccepted_until_it_does()
    {
        await harness.CreateAsync(TestFunctions.Node("refused", change: s => s.Url = new FunctionUrlSpec()));
        await harness.WaitConditionAsync("refused", FunctionUrlReasons.UrlReady, "True", FunctionUrlReasons.UrlPublished);

        // What a Gateway controller writes when its listener does not admit routes from the operator's namespace.
        await SetAcceptedAsync("refused.default", "False", "NotAllowedByListeners");
        await harness.WaitConditionAsync("refused", FunctionUrlReasons.UrlReady, "False", FunctionUrlReasons.RouteNotAccepted);
        var condition = (await harness.GetAsync("refused"))!.Status!.Condition(FunctionUrlReasons.UrlReady)!;
        Assert.Contains("gateway-infra/public reports Accepted=False", condition.Message, StringComparison.Ordinal);
        Assert.Contains("NotAllowedByListeners", condition.Message, StringComparison.Ordinal);
        Assert.NotNull(await UrlObjects.HttpRouteAsync(harness, "refused.default")); // kept: waiting on the Gateway's owner
        await harness.WaitEventAsync("refused", "Warning", FunctionUrlReasons.RouteNotAccepted);

        await SetAcceptedAsync("refused.default", "True", "Accepted");
        await harness.WaitConditionAsync("refused", FunctionUrlReasons.UrlReady, "True", FunctionUrlReasons.UrlPublished);
        Assert.Equal("https://refused.default.fn.example.com/", (await harness.GetAsync("refused"))!.Status!.FunctionUrl);
    }

    private async Task SetAcceptedAsync(string name, string status, string reason)
    {
        var route = (await UrlObjects.HttpRouteAsync(harness, name))!;
        route.Status = new HttpRouteStatus
        {
            Parents =
            [
                new HttpRouteParentStatus
                {
                    ParentRef = new HttpRouteParentRef { Name = "public", Namespace = "gateway-infra", SectionName = "https" },
                    ControllerName = "example.com/gateway-controller",
                    Conditions = [new V1Condition { Type = "Accepted", Status = status, Reason = reason, Message = "listener https: " + reason, LastTransitionTime = DateTime.UtcNow }],
                },
            ],
        };
        await harness.Client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(route, HttpRoute.Group, HttpRoute.Version, "fn-system", HttpRoute.Plural, name);
    }

    [Fact]
    public async Task An_edited_httproute_is_repaired()
    {
        await harness.CreateAsync(TestFunctions.Node("drift", change: s => s.Url = new FunctionUrlSpec()));
        await Eventually.True(async () => await UrlObjects.HttpRouteAsync(harness, "drift.default") is not null, "HTTPRoute created");

        var edited = (await UrlObjects.HttpRouteAsync(harness, "drift.default"))!;
        edited.Spec.Hostnames = ["evil.example.com"];
        await harness.Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(edited, HttpRoute.Group, HttpRoute.Version, "fn-system", HttpRoute.Plural, "drift.default");
        await Eventually.True(async () => (await UrlObjects.HttpRouteAsync(harness, "drift.default"))!.Spec.Hostnames is ["drift.default.fn.example.com"], "HTTPRoute repaired");
    }
}

/// <summary>Operator:Urls:Publish=None (the default): nothing published, the path-based URL on the gateway in status.</summary>
public sealed class FunctionUrlPublishDisabledTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Nothing_is_published_and_status_shows_the_path_based_url()
    {
        await harness.CreateAsync(TestFunctions.Node("hello", change: s => s.Url = new FunctionUrlSpec()));

        await harness.WaitConditionAsync("hello", FunctionUrlReasons.UrlReady, "True", FunctionUrlReasons.PublishDisabled);
        Assert.Equal("http://invoke.test/url/default/hello/", (await harness.GetAsync("hello"))!.Status!.FunctionUrl);
        Assert.Empty((await harness.Client.NetworkingV1.ListNamespacedIngressAsync("fn-system")).Items);
    }
}

internal static class UrlObjects
{
    public static async Task<V1Ingress?> IngressAsync(OperatorHarness harness, string name)
    {
        try
        {
            return await harness.Client.NetworkingV1.ReadNamespacedIngressAsync(name, "fn-system");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public static async Task<HttpRoute?> HttpRouteAsync(OperatorHarness harness, string name)
    {
        try
        {
            var obj = await harness.Client.CustomObjects.GetNamespacedCustomObjectAsync(HttpRoute.Group, HttpRoute.Version, "fn-system", HttpRoute.Plural, name);
            return KubernetesJson.Deserialize<HttpRoute>(((JsonElement)obj).GetRawText());
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
