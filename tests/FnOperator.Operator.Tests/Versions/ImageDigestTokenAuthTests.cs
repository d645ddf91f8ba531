using System.Net;
using System.Net.Http.Headers;
using FnOperator.Operator.Controllers;

namespace FnOperator.Operator.Tests.Versions;

/// <summary>
/// The resolver against a real registry that requires bearer tokens (distribution's token auth, WWW-Authenticate:
/// Bearer realm=…,service=…,scope=…): it fetches an anonymous pull token from the realm and resolves the tag with it.
/// </summary>
public sealed class ImageDigestTokenAuthTests : IAsyncLifetime
{
    private string dir = null!;
    private RegistryTokenServer tokens = null!;
    private RegistryServer registry = null!;

    public async Task InitializeAsync()
    {
        dir = Directory.CreateTempSubdirectory("fnop-registry-token-").FullName;
        var certificate = Path.Combine(dir, "token.pem");
        tokens = new RegistryTokenServer(certificate);
        registry = await RegistryServer.StartAsync(tokens.RegistryConfig(certificate));
    }

    public async Task DisposeAsync()
    {
        await registry.DisposeAsync();
        await tokens.DisposeAsync();
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_tag_behind_bearer_token_auth_resolves_with_a_token_from_the_challenge_realm()
    {
        var pushed = await registry.PushAsync("team/fn", "v1", "token build", new AuthenticationHeaderValue("Bearer", tokens.Token("team/fn", "pull", "push")));
        using (var anonymous = new HttpClient())
        {
            using var refused = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"http://{registry.Host}/v2/team/fn/manifests/v1"));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode); // the registry does require a token
        }

        using var resolver = new ImageDigestResolver(new ImageDigestOptions { InsecureRegistries = [registry.Host] });
        var result = await resolver.ResolveAsync(ImageReference.TryParse($"{registry.Host}/team/fn:v1", out _)!, null, CancellationToken.None);

        Assert.Null(result.Error);
        Assert.Equal(pushed, result.Digest);
        Assert.Equal($"{registry.Host}/team/fn@{pushed}", result.Pinned);
        var query = Assert.Single(tokens.Requests);
        Assert.Contains("service=" + RegistryTokenServer.Service, query);
        Assert.Contains("scope=" + Uri.EscapeDataString("repository:team/fn:pull"), query);
    }

    [Fact]
    public async Task An_unknown_tag_behind_token_auth_is_reported_as_not_found()
    {
        await registry.PushAsync("team/fn", "v1", "token build", new AuthenticationHeaderValue("Bearer", tokens.Token("team/fn", "pull", "push")));
        using var resolver = new ImageDigestResolver(new ImageDigestOptions { InsecureRegistries = [registry.Host] });

        var result = await resolver.ResolveAsync(ImageReference.TryParse($"{registry.Host}/team/fn:nope", out _)!, null, CancellationToken.None);

        Assert.Null(result.Digest);
        Assert.False(result.Unavailable);
        Assert.Contains("tag 'nope'", result.Error);
        Assert.Contains("not found", result.Error);
    }
}
