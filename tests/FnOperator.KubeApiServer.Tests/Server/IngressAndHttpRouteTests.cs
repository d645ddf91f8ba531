using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

/// <summary>networking.k8s.io/v1 Ingress (with ValidateIngressSpec's rules) and gateway.networking.k8s.io/v1 HTTPRoute.</summary>
public sealed class IngressAndHttpRouteTests : ServerTest
{
    private static V1Ingress Ingress(string host, string? pathType = "Prefix", string path = "/", int port = 8080) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web" },
        Spec = new V1IngressSpec
        {
            Rules =
            [
                new V1IngressRule
                {
                    Host = host,
                    Http = new V1HTTPIngressRuleValue
                    {
                        Paths = [new V1HTTPIngressPath { Path = path, PathType = pathType, Backend = new V1IngressBackend { Service = new V1IngressServiceBackend { Name = "gw", Port = new V1ServiceBackendPort { Number = port } } } }],
                    },
                },
            ],
        },
    };

    [Fact]
    public async Task An_ingress_is_served_with_generation_list_by_label_and_watch()
    {
        var ingress = Ingress("hello.default.fn.example.com");
        ingress.Metadata.Labels = new Dictionary<string, string> { ["app"] = "urls" };
        var created = await Client.NetworkingV1.CreateNamespacedIngressAsync(ingress, "fn-system");
        Assert.Equal(1, created.Metadata.Generation);

        created.Spec.Rules[0].Host = "other.default.fn.example.com";
        var updated = await Client.NetworkingV1.ReplaceNamespacedIngressAsync(created, "web", "fn-system");
        Assert.Equal(2, updated.Metadata.Generation);
        Assert.Single((await Client.NetworkingV1.ListNamespacedIngressAsync("fn-system", labelSelector: "app=urls")).Items);
        Assert.Empty((await Client.NetworkingV1.ListNamespacedIngressAsync("fn-system", labelSelector: "app=other")).Items);
    }

    [Theory]
    [InlineData("Bad_Host.example.com", "Prefix", "/", 8080, "spec.rules[0].host: Invalid value")]
    [InlineData("10.0.0.1", "Prefix", "/", 8080, "must be a DNS name, not an IP address")]
    [InlineData("ok.example.com", null, "/", 8080, "spec.rules[0].http.paths[0].pathType: Required value")]
    [InlineData("ok.example.com", "Regex", "/", 8080, "spec.rules[0].http.paths[0].pathType: Unsupported value")]
    [InlineData("ok.example.com", "Prefix", "url", 8080, "spec.rules[0].http.paths[0].path: Invalid value")]
    [InlineData("ok.example.com", "Prefix", "/", 70000, "must be between 1 and 65535")]
    public async Task An_invalid_ingress_is_refused_with_422_naming_the_field(string host, string? pathType, string path, int port, string message)
    {
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => Client.NetworkingV1.CreateNamespacedIngressAsync(Ingress(host, pathType, path, port), "default"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, error.Response.StatusCode);
        Assert.Contains(message, error.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wildcard_host_and_tls_hosts_are_accepted()
    {
        var ingress = Ingress("*.default.fn.example.com");
        ingress.Spec.Tls = [new V1IngressTLS { Hosts = ["*.default.fn.example.com"], SecretName = "wild" }];
        Assert.NotNull(await Client.NetworkingV1.CreateNamespacedIngressAsync(ingress, "default"));
    }

    [Fact]
    public async Task An_httproute_is_served_with_generation_and_a_status_subresource()
    {
        var route = new JsonObject
        {
            ["apiVersion"] = "gateway.networking.k8s.io/v1",
            ["kind"] = "HTTPRoute",
            ["metadata"] = new JsonObject { ["name"] = "r" },
            ["spec"] = new JsonObject { ["hostnames"] = new JsonArray("a.example.com") },
        };
        var created = (JsonElement)await Client.CustomObjects.CreateNamespacedCustomObjectAsync(route, "gateway.networking.k8s.io", "v1", "fn-system", "httproutes");
        Assert.Equal(1, created.GetProperty("metadata").GetProperty("generation").GetInt64());

        var withStatus = JsonNode.Parse(created.GetRawText())!.AsObject();
        withStatus["status"] = new JsonObject { ["parents"] = new JsonArray() };
        withStatus["spec"]!["hostnames"] = new JsonArray("changed.example.com");
        await Client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(withStatus, "gateway.networking.k8s.io", "v1", "fn-system", "httproutes", "r");
        var read = (JsonElement)await Client.CustomObjects.GetNamespacedCustomObjectAsync("gateway.networking.k8s.io", "v1", "fn-system", "httproutes", "r");
        Assert.Equal("a.example.com", read.GetProperty("spec").GetProperty("hostnames")[0].GetString()); // /status ignores spec
        Assert.Equal(1, read.GetProperty("metadata").GetProperty("generation").GetInt64());
    }
}
