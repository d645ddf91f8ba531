using System.Net;
using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

public sealed class SelectorTests : ServerTest
{
    [Theory]
    [InlineData("", "a,b,c,d")]
    [InlineData("app=web", "a,b")]
    [InlineData("app==web", "a,b")]
    [InlineData("app!=web", "c,d")]
    [InlineData("app in (web,db)", "a,b,c")]
    [InlineData("app notin (web)", "c,d")]
    [InlineData("tier", "a,c")]
    [InlineData("!tier", "b,d")]
    [InlineData("app=web,tier", "a")]
    [InlineData("app=web,tier=front", "a")]
    [InlineData("app in (web, db),!tier", "b")]
    public async Task Label_selectors_filter_lists(string selector, string expected)
    {
        await SeedAsync();

        var list = await Client.CoreV1.ListNamespacedConfigMapAsync("default", labelSelector: selector);

        Assert.Equal(expected.Split(','), list.Items.Select(i => i.Metadata.Name));
    }

    [Theory]
    [InlineData("metadata.name=b", "b")]
    [InlineData("metadata.name==c", "c")]
    [InlineData("metadata.name!=a", "b,c,d")]
    [InlineData("metadata.namespace=default,metadata.name!=d", "a,b,c")]
    public async Task Field_selectors_filter_by_name_and_namespace(string selector, string expected)
    {
        await SeedAsync();

        var list = await Client.CoreV1.ListNamespacedConfigMapAsync("default", fieldSelector: selector);

        Assert.Equal(expected.Split(','), list.Items.Select(i => i.Metadata.Name));
    }

    [Theory]
    [InlineData("labelSelector=app%20in%20web", "unable to parse requirement")]
    [InlineData("fieldSelector=spec.size%3D1", "field label not supported: spec.size")]
    public async Task Malformed_or_unsupported_selectors_are_bad_requests(string query, string message)
    {
        var (code, body) = await SendAsync(HttpMethod.Get, "/api/v1/namespaces/default/configmaps?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains(message, (string?)body!["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Limit_and_continue_page_through_a_list()
    {
        await SeedAsync();

        var first = await Client.CoreV1.ListNamespacedConfigMapAsync("default", limit: 3);
        var second = await Client.CoreV1.ListNamespacedConfigMapAsync("default", limit: 3, continueParameter: first.Metadata.ContinueProperty);

        Assert.Equal(["a", "b", "c"], first.Items.Select(i => i.Metadata.Name));
        Assert.Equal(1, first.Metadata.RemainingItemCount);
        Assert.Equal(["d"], second.Items.Select(i => i.Metadata.Name));
        Assert.Null(second.Metadata.ContinueProperty);
    }

    [Fact]
    public async Task A_continue_token_older_than_the_history_is_gone()
    {
        await SeedAsync();
        var first = await Client.CoreV1.ListNamespacedConfigMapAsync("default", limit: 1);
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "e" } }, "default");
        Server.Store.Compact();

        var status = await StatusOfAsync(() => Client.CoreV1.ListNamespacedConfigMapAsync("default", limit: 1, continueParameter: first.Metadata.ContinueProperty));

        Assert.Equal(("Expired", 410), ((string?)status["reason"], (int?)status["code"]));
    }

    private async Task SeedAsync()
    {
        foreach (var (name, labels) in new[] { ("a", "app=web,tier=front"), ("b", "app=web"), ("c", "app=db,tier=back"), ("d", "") })
        {
            var map = labels.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=')).ToDictionary(l => l[0], l => l[1]);
            await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name, Labels = map } }, "default");
        }

        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "elsewhere", Labels = new Dictionary<string, string> { ["app"] = "web" } } }, "other");
    }
}
