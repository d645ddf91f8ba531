using FnOperator.Api;
using FnOperator.Operator.Resources;

namespace FnOperator.Operator.Tests.Urls;

/// <summary>The pure parts of URL publishing: which qualifiers and names can be a URL, the status URL per mode, TLS names.</summary>
public sealed class FunctionUrlBuilderTests
{
    [Theory]
    [InlineData(null, true)]
    [InlineData("$LATEST", true)]
    [InlineData("live", true)]
    [InlineData("blue_green-2", true)]
    [InlineData("7", false)]
    [InlineData("has space", false)]
    public void Only_an_alias_name_or_latest_is_a_url_qualifier(string? qualifier, bool allowed) =>
        Assert.Equal(allowed, FunctionUrlBuilder.QualifierProblem(qualifier) is null);

    [Theory]
    [InlineData("hello", true)]
    [InlineData("a.b", false)]
    [InlineData("x123456789012345678901234567890123456789012345678901234567890123", false)]
    public void Only_a_dns_label_function_name_becomes_a_url_host(string name, bool allowed) =>
        Assert.Equal(allowed, FunctionUrlBuilder.HostProblem(TestFunctions.Node(name), "fn.example.com") is null);

    [Theory]
    [InlineData(UrlPublishMode.Ingress, "fn.example.com", "wild-tls", false, "https://hello.default.fn.example.com/")]
    [InlineData(UrlPublishMode.Ingress, "fn.example.com", "", false, "http://hello.default.fn.example.com/")]
    [InlineData(UrlPublishMode.HttpRoute, "fn.example.com", "", true, "https://hello.default.fn.example.com/")]
    [InlineData(UrlPublishMode.HttpRoute, "fn.example.com", "", false, "http://hello.default.fn.example.com/")]
    [InlineData(UrlPublishMode.None, "", "", false, "http://gw.example:8080/url/default/hello/")]
    public void The_status_url_follows_the_mode_the_domain_and_tls(UrlPublishMode mode, string domain, string tls, bool routeTls, string expected)
    {
        var options = new FunctionUrlOptions { Publish = mode, Domain = domain, TlsSecretName = tls, HttpRouteTls = routeTls };
        Assert.Equal(expected, FunctionUrlBuilder.Url(TestFunctions.Node("hello"), options, "http://gw.example:8080/"));
    }

    [Fact]
    public void The_tls_secret_name_takes_the_namespace_and_function()
    {
        var ingress = FunctionUrlBuilder.Ingress(TestFunctions.Node("api", ns: "shop"), new FunctionUrlOptions { Publish = UrlPublishMode.Ingress, Domain = "Fn.Example.com.", TlsSecretName = "{namespace}-{function}-tls" }, "fn-system");
        Assert.Equal("shop-api-tls", ingress.Spec.Tls.Single().SecretName);
        Assert.Equal("api.shop.fn.example.com", ingress.Spec.Rules.Single().Host);
        Assert.Equal("api.shop", ingress.Metadata.Name);
    }

    [Fact]
    public void Options_need_a_domain_and_a_parent_gateway_for_the_modes_that_publish()
    {
        Assert.Empty(new FunctionUrlOptions().Problems());
        Assert.Contains(new FunctionUrlOptions { Publish = UrlPublishMode.Ingress }.Problems(), p => p.Contains("Domain", StringComparison.Ordinal));
        Assert.Contains(new FunctionUrlOptions { Publish = UrlPublishMode.HttpRoute, Domain = "fn.example.com" }.Problems(), p => p.Contains("ParentRefs", StringComparison.Ordinal));
        Assert.Empty(new FunctionUrlOptions { Publish = UrlPublishMode.HttpRoute, Domain = "fn.example.com", ParentRefs = [new UrlParentRef { Name = "gw" }] }.Problems());
        Assert.Contains(new FunctionUrlOptions { IngressAnnotationsJson = "[1]" }.Problems(), p => p.Contains("IngressAnnotationsJson", StringComparison.Ordinal));
    }
}
