using System.Net;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Auth;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Auth;
using FnOperator.Gateway.Tests.Support;
using static FnOperator.Gateway.Tests.Urls.UrlTestSupport;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>authType AWS_IAM needs a SigV4 signature from a known key (and, with invoke auth required, an invoke grant); NONE is public.</summary>
public sealed class UrlAuthTests
{
    private const string KeyId = "AKIAFNOPURLKEY000001";
    private const string Secret = "url/secret/key/0123456789";

    [Fact]
    public async Task Aws_iam_url_accepts_a_signed_request_fills_authorizer_iam_and_refuses_unsigned_and_badly_signed_ones()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, $"[dev]\naws_access_key_id = {KeyId}\naws_secret_access_key = {Secret}\n");
        try
        {
            await using var gateway = await StartAsync(Options with { Auth = new AuthOptions { Mode = AuthMode.SigV4, CredentialsFile = file } });
            var key = gateway.Add("secure", Spec(new FunctionUrlSpec { AuthType = FunctionUrls.AuthIam }));
            await using var worker = Worker(gateway, key, """{"ok":true}""");
            var url = $"http://secure.default.localhost:{gateway.BaseAddress.Port}/data?x=1";

            var signed = await UrlSignedClient.SendAsync(url, KeyId, Secret, "POST", """{"a":1}""");
            var ev = LastEvent(worker);
            var unsigned = await UrlSignedClient.SendAsync(url, KeyId, Secret, unsigned: true);
            var wrong = await UrlSignedClient.SendAsync(url, KeyId, Secret + "x");
            var pathBased = await UrlSignedClient.SendAsync($"http://127.0.0.1:{gateway.BaseAddress.Port}/url/default/secure/p", KeyId, Secret);

            Assert.True(signed.Status == 200, signed.Body);
            Assert.Equal("""{"ok":true}""", signed.Body);
            Assert.Equal("""{"a":1}""", (string?)ev["body"]);
            var ctx = ev["requestContext"]!.AsObject();
            Assert.Equal("000000000000", (string?)ctx["accountId"]);
            var iam = ctx["authorizer"]!["iam"]!.AsObject();
            Assert.Equal(KeyId, (string?)iam["accessKey"]);
            Assert.Equal("000000000000", (string?)iam["accountId"]);
            Assert.Equal("dev", (string?)iam["callerId"]);
            Assert.Equal("arn:aws:iam::000000000000:user/dev", (string?)iam["userArn"]);
            Assert.Equal("dev", (string?)iam["userId"]);
            Assert.True(iam.ContainsKey("cognitoIdentity"));
            Assert.Null(iam["cognitoIdentity"]);
            Assert.True(iam.ContainsKey("principalOrgId"));
            Assert.Equal(403, unsigned.Status);
            Assert.Equal("AccessDeniedException", (string?)unsigned.Headers["x-amzn-errortype"]);
            Assert.Equal(403, wrong.Status);
            Assert.Equal("InvalidSignatureException", (string?)wrong.Headers["x-amzn-errortype"]);
            Assert.Equal(200, pathBased.Status);
            Assert.Equal(2, worker.Received.Count);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Aws_iam_url_on_a_gateway_without_invoke_auth_refuses_every_request_with_a_clear_message()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("secure", Spec(new FunctionUrlSpec { AuthType = FunctionUrls.AuthIam }));
        await using var worker = Worker(gateway, key, "{}");

        var signed = await UrlSignedClient.SendAsync($"http://secure.default.localhost:{gateway.BaseAddress.Port}/", KeyId, Secret);

        Assert.Equal(403, signed.Status);
        Assert.Contains("--auth sigv4", (string?)JsonNode.Parse(signed.Body)!["message"], StringComparison.Ordinal);
        Assert.Empty(worker.Received);
    }

    [Fact]
    public async Task With_invoke_auth_required_a_none_url_is_public_and_an_aws_iam_url_needs_an_invoke_grant()
    {
        await using var cluster = await AuthCluster.StartAsync();
        var open = new FunctionKey("team", "open");
        var secure = new FunctionKey("team", "secure");
        cluster.Functions.Upsert(open, Spec());
        cluster.Functions.Upsert(secure, Spec(new FunctionUrlSpec { AuthType = FunctionUrls.AuthIam }));
        await cluster.AddKeyAsync("alice-key", KeyId, Secret, "alice");
        await cluster.AddKeyAsync("bob-key", "AKIAFNOPURLKEY000002", Secret, "bob");
        await cluster.GrantAsync("team", AuthCluster.User("alice"));
        await using var openWorker = ClusterWorker(cluster.BaseAddress, open);
        await using var secureWorker = ClusterWorker(cluster.BaseAddress, secure);
        var port = cluster.BaseAddress.Port;

        using var anonymous = await cluster.Http.GetAsync("/url/team/open/");
        var alice = await UrlSignedClient.SendAsync($"http://127.0.0.1:{port}/url/team/secure/", KeyId, Secret);
        var bob = await UrlSignedClient.SendAsync($"http://127.0.0.1:{port}/url/team/secure/", "AKIAFNOPURLKEY000002", Secret);
        using var invokeApi = await cluster.Http.SendAsync(TestGateway.Invoke("team/open"));

        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        Assert.True(alice.Status == 200, alice.Body);
        Assert.Equal(403, bob.Status);
        Assert.Equal("AccessDeniedException", (string?)bob.Headers["x-amzn-errortype"]);
        Assert.Contains("lambda:InvokeFunctionUrl", bob.Body, StringComparison.Ordinal);
        // The Invoke API of the same function still needs credentials: only its URL is public.
        Assert.Equal(HttpStatusCode.Forbidden, invokeApi.StatusCode);
    }

    private static TestWorker ClusterWorker(Uri gateway, FunctionKey key) => new(gateway, key, i => TestWorker.Ok(i, "{}"));
}
