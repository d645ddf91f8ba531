using System.Security.Cryptography;
using System.Text;
using FnOperator.Gateway.Auth;

namespace FnOperator.Gateway.Tests.Auth;

/// <summary>UNSIGNED-PAYLOAD, scope and header rules, on requests signed here (the suite vectors prove the signing code itself).</summary>
public sealed class SigV4VerifierTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly AccessKey Key = new("AKIAFNOPUNIT00000001", "unit-secret", "unit", []);

    [Fact]
    public async Task Unsigned_payload_is_accepted_in_the_header_form_only_when_allowed_and_always_on_presigned_urls()
    {
        var header = Sign("POST", "/2015-03-31/functions/hello/invocations", "", [new("x-amz-content-sha256", SigV4Canonical.UnsignedPayload)], SigV4Canonical.UnsignedPayload);
        var presigned = Presign("/2015-03-31/functions/hello/invocations", SigV4Canonical.UnsignedPayload);
        var bodyHash = Hash("""{"any":"body"}""");

        var refused = await Verifier(allowUnsigned: false).VerifyAsync(header, bodyHash, Now, default);
        var allowed = await Verifier(allowUnsigned: true).VerifyAsync(header, bodyHash, Now, default);
        var url = await Verifier(allowUnsigned: false).VerifyAsync(presigned, bodyHash, Now, default);

        Assert.Equal(AuthErrors.InvalidSignature, refused.ErrorType);
        Assert.True(allowed.Succeeded, allowed.Message);
        Assert.True(url.Succeeded, url.Message);
    }

    [Theory]
    [InlineData("us-west-2", "lambda", "Credential should be scoped to a valid region, not 'us-west-2'. ")]
    [InlineData("us-east-1", "s3", "Credential should be scoped to correct service: 'lambda'. ")]
    public async Task Credential_scope_must_be_the_gateway_region_and_lambda(string region, string service, string message)
    {
        var request = Sign("POST", "/2015-03-31/functions/hello/invocations", "", [], Hash(""), region, service);

        var result = await Verifier().VerifyAsync(request, Hash(""), Now, default);

        Assert.Equal((AuthErrors.InvalidSignature, message), (result.ErrorType, result.Message));
    }

    [Fact]
    public async Task Host_and_date_must_be_signed_and_a_malformed_header_is_incomplete()
    {
        var date = SigV4Canonical.FormatDate(Now);
        var noHost = new SignedRequest("POST", "/", "", [new("Host", "gw"), new("X-Amz-Date", date), new("Authorization", $"AWS4-HMAC-SHA256 Credential={Key.AccessKeyId}/{date[..8]}/us-east-1/lambda/aws4_request, SignedHeaders=x-amz-date, Signature=00")]);
        var noSignature = new SignedRequest("POST", "/", "", [new("Host", "gw"), new("X-Amz-Date", date), new("Authorization", $"AWS4-HMAC-SHA256 Credential={Key.AccessKeyId}/{date[..8]}/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date")]);

        var host = await Verifier().VerifyAsync(noHost, Hash(""), Now, default);
        var signature = await Verifier().VerifyAsync(noSignature, Hash(""), Now, default);

        Assert.Equal(AuthErrors.IncompleteSignature, host.ErrorType);
        Assert.Equal(AuthErrors.IncompleteSignature, signature.ErrorType);
        Assert.StartsWith("Authorization header requires 'Signature' parameter.", signature.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Access_key_text_never_shows_the_secret()
    {
        Assert.DoesNotContain("unit-secret", Key.ToString(), StringComparison.Ordinal);
    }

    private static SigV4Verifier Verifier(bool allowUnsigned = false) =>
        new(new SigV4Settings("us-east-1") { AllowUnsignedPayload = allowUnsigned }, new OneKey());

    private static string Hash(string body) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));

    private static SignedRequest Sign(string method, string path, string query, List<KeyValuePair<string, string>> extra, string payloadHash, string region = "us-east-1", string service = "lambda")
    {
        var date = SigV4Canonical.FormatDate(Now);
        List<KeyValuePair<string, string>> headers = [new("host", "gw:8080"), new("x-amz-date", date), .. extra];
        var signed = headers.Select(h => h.Key.ToLowerInvariant()).Order(StringComparer.Ordinal).ToArray();
        var scope = $"{date[..8]}/{region}/{service}/aws4_request";
        var canonical = SigV4Canonical.CanonicalRequest(method, SigV4Canonical.CanonicalUri(path, true), SigV4Canonical.CanonicalQuery(query, false), SigV4Canonical.CanonicalHeaders(headers, signed), signed, payloadHash);
        var signature = SigV4Canonical.Signature(SigV4Canonical.SigningKey(Key.SecretAccessKey, date[..8], region, service), SigV4Canonical.StringToSign(date, scope, canonical));
        return new SignedRequest(method, path, query, [.. headers, new("Authorization", $"AWS4-HMAC-SHA256 Credential={Key.AccessKeyId}/{scope}, SignedHeaders={string.Join(';', signed)}, Signature={signature}")]);
    }

    private static SignedRequest Presign(string path, string payloadHash)
    {
        var date = SigV4Canonical.FormatDate(Now);
        var scope = $"{date[..8]}/us-east-1/lambda/aws4_request";
        var query = $"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={Uri.EscapeDataString($"{Key.AccessKeyId}/{scope}")}&X-Amz-Date={date}&X-Amz-Expires=60&X-Amz-SignedHeaders=host";
        List<KeyValuePair<string, string>> headers = [new("host", "gw:8080")];
        var canonical = SigV4Canonical.CanonicalRequest("POST", SigV4Canonical.CanonicalUri(path, true), SigV4Canonical.CanonicalQuery(query, true), SigV4Canonical.CanonicalHeaders(headers, ["host"]), ["host"], payloadHash);
        var signature = SigV4Canonical.Signature(SigV4Canonical.SigningKey(Key.SecretAccessKey, date[..8], "us-east-1", "lambda"), SigV4Canonical.StringToSign(date, scope, canonical));
        return new SignedRequest("POST", path, $"{query}&X-Amz-Signature={signature}", headers);
    }

    private sealed class OneKey : IAccessKeyStore
    {
        public ValueTask<AccessKey?> FindAsync(string accessKeyId, CancellationToken cancellationToken) =>
            ValueTask.FromResult(accessKeyId == Key.AccessKeyId ? Key : null);
    }
}
