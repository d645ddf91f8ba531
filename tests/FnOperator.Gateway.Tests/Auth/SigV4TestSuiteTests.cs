using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Auth;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Auth;

/// <summary>SigV4 verification against AWS's published test suite (sigv4-test-suite/README.md), header and presigned forms.</summary>
public sealed class SigV4TestSuiteTests
{
    private static string SuiteDir => Path.Combine(RepoPaths.Root, "tests", "FnOperator.Gateway.Tests", "Auth", "sigv4-test-suite");

    public static TheoryData<string, string> Vectors()
    {
        var data = new TheoryData<string, string>();
        foreach (var dir in Directory.GetDirectories(SuiteDir).Order(StringComparer.Ordinal))
        {
            foreach (var form in new[] { "header", "query" })
            {
                if (File.Exists(Path.Combine(dir, $"{form}-signed-request.txt")))
                {
                    data.Add(Path.GetFileName(dir), form);
                }
            }
        }

        return data;
    }

    [Fact]
    public void Suite_holds_the_published_vectors()
    {
        Assert.True(Vectors().Count >= 70, $"expected the 38 v4 vectors in header and query form, found {Vectors().Count}");
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public async Task Signed_request_of_the_suite_verifies_and_its_canonical_request_matches(string vector, string form)
    {
        var v = Vector.Load(vector, form);

        var result = await v.Verifier().VerifyAsync(v.Request, v.BodyHash, v.Time, default);

        Assert.True(result.Succeeded, $"{vector}/{form}: {result.ErrorType}: {result.Message}");
        Assert.Equal(v.ExpectedCanonical, v.Canonical());
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public async Task Suite_request_with_a_wrong_secret_a_changed_signed_header_or_an_unknown_key_is_rejected(string vector, string form)
    {
        var v = Vector.Load(vector, form);

        var wrongSecret = await new SigV4Verifier(v.Settings, new StaticKeys(new AccessKey(v.KeyId, v.Secret + "x", "u", []))).VerifyAsync(v.Request, v.BodyHash, v.Time, default);
        var changedHost = await v.Verifier().VerifyAsync(v.Request with { Headers = [.. v.Request.Headers.Select(h => h.Key.Equals("Host", StringComparison.OrdinalIgnoreCase) ? KeyValuePair.Create(h.Key, "evil.example.com") : h)] }, v.BodyHash, v.Time, default);
        var unknown = await new SigV4Verifier(v.Settings, new StaticKeys()).VerifyAsync(v.Request, v.BodyHash, v.Time, default);

        Assert.Equal((AuthErrors.InvalidSignature, AuthErrors.InvalidSignatureMessage), (wrongSecret.ErrorType, wrongSecret.Message));
        Assert.Equal((AuthErrors.InvalidSignature, AuthErrors.InvalidSignatureMessage), (changedHost.ErrorType, changedHost.Message));
        Assert.Equal((AuthErrors.UnrecognizedClient, "The security token included in the request is invalid."), (unknown.ErrorType, unknown.Message));
    }

    [Fact]
    public async Task Suite_request_outside_the_fifteen_minute_window_gets_the_skew_messages()
    {
        var v = Vector.Load("get-vanilla", "header");

        var late = await v.Verifier().VerifyAsync(v.Request, v.BodyHash, v.Time.AddMinutes(16), default);
        var early = await v.Verifier().VerifyAsync(v.Request, v.BodyHash, v.Time.AddMinutes(-16), default);
        var edge = await v.Verifier().VerifyAsync(v.Request, v.BodyHash, v.Time.AddMinutes(15), default);

        Assert.Equal(AuthErrors.InvalidSignature, late.ErrorType);
        Assert.Equal("Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)", late.Message);
        Assert.Equal("Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z (20150830T122000Z + 15 min.)", early.Message);
        Assert.True(edge.Succeeded);
    }

    [Fact]
    public async Task Presigned_suite_request_expires_after_x_amz_expires()
    {
        var v = Vector.Load("get-vanilla", "query");

        var inTime = await v.Verifier().VerifyAsync(v.Request, v.BodyHash, v.Time.AddSeconds(3600), default);
        var expired = await v.Verifier().VerifyAsync(v.Request, v.BodyHash, v.Time.AddSeconds(3601), default);

        Assert.True(inTime.Succeeded);
        Assert.Equal("Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T133601Z - 3600 sec.)", expired.Message);
    }

    [Fact]
    public async Task Claimed_payload_hash_that_is_not_the_body_hash_is_rejected_and_unsigned_payload_only_where_allowed()
    {
        var v = Vector.Load("post-x-www-form-urlencoded", "header");
        var otherBody = Hex(SHA256.HashData("Param1=value2"u8.ToArray()));
        var unsigned = v.Request with { Headers = [.. v.Request.Headers.Select(h => h.Key == "x-amz-content-sha256" ? KeyValuePair.Create(h.Key, "UNSIGNED-PAYLOAD") : h)] };

        var tampered = await v.Verifier().VerifyAsync(v.Request, otherBody, v.Time, default);
        var notAllowed = await v.Verifier().VerifyAsync(unsigned, v.BodyHash, v.Time, default);

        Assert.Equal(AuthErrors.InvalidSignature, tampered.ErrorType);
        Assert.Equal(AuthErrors.InvalidSignature, notAllowed.ErrorType);
        Assert.Contains("UNSIGNED-PAYLOAD", notAllowed.Message, StringComparison.Ordinal);
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private sealed class StaticKeys(params AccessKey[] keys) : IAccessKeyStore
    {
        public ValueTask<AccessKey?> FindAsync(string accessKeyId, CancellationToken cancellationToken) =>
            ValueTask.FromResult(keys.FirstOrDefault(k => k.AccessKeyId == accessKeyId));
    }

    private sealed record Vector(SignedRequest Request, string BodyHash, DateTimeOffset Time, SigV4Settings Settings, string KeyId, string Secret, string ExpectedCanonical, bool Presigned)
    {
        public SigV4Verifier Verifier() => new(Settings, new StaticKeys(new AccessKey(KeyId, Secret, "suite", [])));

        public static Vector Load(string name, string form)
        {
            var dir = Path.Combine(SuiteDir, name);
            var context = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "context.json")))!;
            var (request, body) = ParseHttp(File.ReadAllText(Path.Combine(dir, $"{form}-signed-request.txt")));
            if (form == "query" && (bool?)context["omit_session_token"] == true)
            {
                // The suite appends the session token after signing (post-sts-header-after): it is not part of what was signed.
                request = request with { RawQuery = string.Join('&', request.RawQuery.Split('&').Where(p => !p.StartsWith("X-Amz-Security-Token=", StringComparison.Ordinal))) };
            }

            var settings = new SigV4Settings((string)context["region"]!, (string)context["service"]!) { NormalizePath = (bool)context["normalize"]! };
            return new Vector(request, Hex(SHA256.HashData(body)), DateTimeOffset.Parse((string)context["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture), settings,
                (string)context["credentials"]!["access_key_id"]!, (string)context["credentials"]!["secret_access_key"]!,
                File.ReadAllText(Path.Combine(dir, $"{form}-canonical-request.txt")), form == "query");
        }

        /// <summary>The canonical request this code builds for the vector, to compare with the suite's file.</summary>
        public string Canonical()
        {
            var signed = Presigned
                ? Uri.UnescapeDataString(Request.RawQuery.Split('&').First(p => p.StartsWith("X-Amz-SignedHeaders=", StringComparison.Ordinal)).Split('=')[1]).Split(';')
                : Request.Header("Authorization")!.Split("SignedHeaders=")[1].Split(',')[0].Split(';');
            var payload = Presigned ? BodyHash : Request.Header("x-amz-content-sha256") ?? BodyHash;
            return SigV4Canonical.CanonicalRequest(Request.Method, SigV4Canonical.CanonicalUri(Request.RawPath, Settings.NormalizePath),
                SigV4Canonical.CanonicalQuery(Request.RawQuery, Presigned), SigV4Canonical.CanonicalHeaders(Request.Headers, signed), signed, payload);
        }

        /// <summary>Parses the suite's raw HTTP/1.1 text: request line, headers (indented lines continue the previous one), body.</summary>
        private static (SignedRequest Request, byte[] Body) ParseHttp(string text)
        {
            var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
            var first = lines[0];
            var method = first[..first.IndexOf(' ', StringComparison.Ordinal)];
            var target = first[(method.Length + 1)..first.LastIndexOf(' ')];
            var headers = new List<KeyValuePair<string, string>>();
            var i = 1;
            for (; i < lines.Length && lines[i].Length > 0; i++)
            {
                if (char.IsWhiteSpace(lines[i][0]))
                {
                    headers[^1] = KeyValuePair.Create(headers[^1].Key, headers[^1].Value + " " + lines[i].Trim());
                    continue;
                }

                var colon = lines[i].IndexOf(':', StringComparison.Ordinal);
                headers.Add(KeyValuePair.Create(lines[i][..colon], lines[i][(colon + 1)..]));
            }

            var body = Encoding.UTF8.GetBytes(string.Join('\n', lines.Skip(i + 1)));
            var length = headers.FirstOrDefault(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Value;
            body = length is null ? [] : body[..int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)];
            var q = target.IndexOf('?', StringComparison.Ordinal);
            return (new SignedRequest(method, q < 0 ? target : target[..q], q < 0 ? "" : target[(q + 1)..], headers), body);
        }
    }
}
