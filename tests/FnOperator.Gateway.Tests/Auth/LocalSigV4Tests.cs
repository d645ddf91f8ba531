using System.Net;
using FnOperator.Gateway.Auth;
using FnOperator.Gateway.Local;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Auth;

/// <summary>Local mode's <c>--auth sigv4 --credentials FILE</c>: the AWS CLI signs with a key from the file; nothing else gets in.</summary>
public sealed class LocalSigV4Tests
{
    [Fact]
    public async Task Sigv4_mode_accepts_keys_from_the_credentials_file_and_rejects_other_keys_and_unsigned_calls()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "# local keys\n[dev]\naws_access_key_id = AKIAFNOPLOCAL0000001\naws_secret_access_key = local/secret/key\n\n[ci]\naws_access_key_id=AKIAFNOPLOCAL0000002\naws_secret_access_key=ci-secret\n");
        try
        {
            await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { Auth = new AuthOptions { Mode = AuthMode.SigV4, CredentialsFile = file } });
            var key = gateway.Add("echo");
            await using var worker = new TestWorker(gateway.BaseAddress, key, TestWorker.Echo);

            var dev = await AuthClients.CliInvokeAsync(gateway.BaseAddress, "AKIAFNOPLOCAL0000001", "local/secret/key", "echo", """{"from":"dev"}""");
            var ci = await AuthClients.CliInvokeAsync(gateway.BaseAddress, "AKIAFNOPLOCAL0000002", "ci-secret", "echo", """{"from":"ci"}""");
            var other = await AuthClients.CliInvokeAsync(gateway.BaseAddress, "local", "local", "echo", "{}");
            using var unsigned = await gateway.Client.SendAsync(TestGateway.Invoke("echo"));
            using var bearer = TestGateway.Invoke("echo");
            bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "token");
            using var bearerResponse = await gateway.Client.SendAsync(bearer);
            using var pull = await gateway.Client.GetAsync("/_fnop/v1/queues");

            Assert.True(dev.ExitCode == 0, dev.Stderr);
            Assert.Equal("""{"from":"dev"}""", dev.Body);
            Assert.Equal("""{"from":"ci"}""", ci.Body);
            Assert.Contains("(UnrecognizedClientException)", other.Stderr, StringComparison.Ordinal);
            await InvokeAuthorizationTests.AssertErrorAsync(unsigned, "MissingAuthenticationTokenException", "Missing Authentication Token");
            await InvokeAuthorizationTests.AssertErrorAsync(bearerResponse, "IncompleteSignatureException", "Unsupported Authorization header: sign the request with AWS Signature Version 4 (AWS4-HMAC-SHA256).");
            Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(new[] { "--functions", "f" }, AuthMode.Off, null)]
    [InlineData(new[] { "--functions", "f", "--auth", "sigv4", "--credentials", "/nonexistent/creds" }, AuthMode.Off, "--credentials: '/nonexistent/creds' does not exist")]
    [InlineData(new[] { "--functions", "f", "--auth", "sigv4" }, AuthMode.Off, "--auth sigv4 needs --credentials FILE")]
    [InlineData(new[] { "--functions", "f", "--auth", "required" }, AuthMode.Off, "--auth: 'required' is not off or sigv4")]
    public void Local_options_parse_the_auth_mode(string[] args, AuthMode mode, string? error)
    {
        var ok = LocalOptions.TryParse(args, out var options, out var message);

        Assert.Equal(error is null, ok);
        Assert.Equal(error ?? "", message);
        if (ok)
        {
            Assert.Equal(mode, options.Auth.Mode);
        }
    }

    [Fact]
    public void Local_options_accept_sigv4_with_an_existing_credentials_file()
    {
        var file = Path.GetTempFileName();
        try
        {
            Assert.True(LocalOptions.TryParse(["--functions", "f", "--auth", "SigV4", "--credentials", file], out var options, out var error), error);
            Assert.Equal((AuthMode.SigV4, file), (options.Auth.Mode, options.Auth.CredentialsFile));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Serve_mode_requires_auth_by_default_and_parses_anonymous_namespaces()
    {
        var byDefault = AuthOptions.ForServe(new Dictionary<string, string>());
        var open = AuthOptions.ForServe(new Dictionary<string, string> { ["auth"] = "off", ["anonymous-namespaces"] = "public, demo", ["access-key-namespace"] = "fn-system" });

        Assert.Equal(AuthMode.Required, byDefault.Mode);
        Assert.Empty(byDefault.AnonymousNamespaces);
        Assert.Equal((AuthMode.Off, "fn-system"), (open.Mode, open.AccessKeyNamespace));
        Assert.Equal(["public", "demo"], open.AnonymousNamespaces);
        Assert.Throws<UsageException>(() => AuthOptions.ForServe(new Dictionary<string, string> { ["auth"] = "sigv4" }));
    }
}
