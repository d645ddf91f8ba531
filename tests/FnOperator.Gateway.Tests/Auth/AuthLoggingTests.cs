using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using FnOperator.Gateway.Auth;

namespace FnOperator.Gateway.Tests.Auth;

/// <summary>Requests signed here (SigV4Canonical) with a date in the past, and what the gateway logs: never a secret or a token.</summary>
public sealed class AuthLoggingTests
{
    private const string KeyId = "AKIAFNOPLOGS00000001";
    private const string Secret = "log-test-secret-key-do-not-print-0000000";

    [Fact]
    public async Task Failed_authentications_are_logged_without_secrets_or_tokens_and_a_signature_dated_in_the_past_gets_the_skew_message()
    {
        var logs = new CapturingLoggerProvider();
        await using var cluster = await AuthCluster.StartAsync(configure: b => b.Logging.AddProvider(logs));
        cluster.Add("team", "hello");
        await cluster.AddKeyAsync("log-key", KeyId, Secret, "logger");
        await cluster.GrantAsync("team", AuthCluster.User("logger"));
        var now = DateTimeOffset.UtcNow;

        using var ok = await cluster.Http.SendAsync(Signed(cluster, Secret, now));
        using var wrong = await cluster.Http.SendAsync(Signed(cluster, "not-" + Secret, now));
        using var stale = await cluster.Http.SendAsync(Signed(cluster, Secret, now.AddMinutes(-20)));
        using var bearer = new HttpRequestMessage(HttpMethod.Post, "/2015-03-31/functions/team.hello/invocations") { Content = new StringContent("{}") };
        bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "bearer-token-that-must-not-be-logged");
        using var bearerResponse = await cluster.Http.SendAsync(bearer);

        Assert.Equal(HttpStatusCode.NoContent, ok.StatusCode);
        await InvokeAuthorizationTests.AssertErrorAsync(wrong, AuthErrors.InvalidSignature, AuthErrors.InvalidSignatureMessage);
        var signedAt = SigV4Canonical.FormatDate(now.AddMinutes(-20));
        await InvokeAuthorizationTests.AssertErrorAsync(stale, AuthErrors.InvalidSignature, $"Signature expired: {signedAt} is now earlier than ", prefix: true);
        await InvokeAuthorizationTests.AssertErrorAsync(bearerResponse, AuthErrors.UnrecognizedClient, AuthErrors.UnrecognizedClientMessage);
        var text = string.Join('\n', logs.Lines);
        Assert.Contains("Rejected request method=sigv4 errorType=InvalidSignatureException", text, StringComparison.Ordinal);
        Assert.Contains("Rejected request method=bearer errorType=UnrecognizedClientException", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain("bearer-token-that-must-not-be-logged", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Signature=", text, StringComparison.Ordinal);
    }

    /// <summary>A DryRun invoke of team.hello signed (host;x-amz-date, payload hash of "{}") with the given secret at the given time.</summary>
    private static HttpRequestMessage Signed(AuthCluster cluster, string secret, DateTimeOffset at)
    {
        const string path = "/2015-03-31/functions/team.hello/invocations";
        var amzDate = SigV4Canonical.FormatDate(at);
        var host = cluster.BaseAddress.Authority;
        string[] signed = ["host", "x-amz-date"];
        var headers = new List<KeyValuePair<string, string>> { new("host", host), new("x-amz-date", amzDate) };
        var canonical = SigV4Canonical.CanonicalRequest("POST", SigV4Canonical.CanonicalUri(path, true), "", SigV4Canonical.CanonicalHeaders(headers, signed), signed,
            Convert.ToHexStringLower(SHA256.HashData("{}"u8)));
        var scope = $"{amzDate[..8]}/us-east-1/lambda/aws4_request";
        var signature = SigV4Canonical.Signature(SigV4Canonical.SigningKey(secret, amzDate[..8], "us-east-1", "lambda"), SigV4Canonical.StringToSign(amzDate, scope, canonical));
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{}", Encoding.UTF8) };
        request.Content.Headers.ContentType = null;
        request.Headers.Add("X-Amz-Invocation-Type", "DryRun");
        request.Headers.Add("X-Amz-Date", amzDate);
        request.Headers.TryAddWithoutValidation("Authorization", $"AWS4-HMAC-SHA256 Credential={KeyId}/{scope}, SignedHeaders=host;x-amz-date, Signature={signature}");
        return request;
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider.Lines.Enqueue($"{logLevel} {formatter(state, exception)} {exception}");
        }
    }
}
