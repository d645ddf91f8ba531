using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace FnOperator.Operator.Tests.Versions;

/// <summary>
/// The token endpoint of a registry that uses distribution's token auth: answers GET /token?service=…&amp;scope=… with
/// an RS256 JWT signed by a self-signed certificate (sent in the x5c header; the registry trusts it through its
/// rootcertbundle) that grants pull and push on the requested repository. Records the queries it was asked.
/// </summary>
public sealed class RegistryTokenServer : IAsyncDisposable
{
    public const string Service = "fnop-test-registry";
    public const string Issuer = "fnop-test-issuer";

    private readonly HttpListener listener = new();
    private readonly RSA key = RSA.Create(2048);
    private readonly X509Certificate2 certificate;
    private readonly Task loop;

    private readonly string? requiredAuthorization;

    /// <param name="username">When set, tokens are given only to requests with this basic-auth user and <paramref name="password"/> (else 401).</param>
    public RegistryTokenServer(string certificatePath, string? username = null, string? password = null)
    {
        requiredAuthorization = username is null ? null : "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(username + ":" + password));
        var request = new CertificateRequest("CN=fnop-test-token", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        for (var attempt = 0; ; attempt++)
        {
            Port = FreePort();
            listener.Prefixes.Clear();
            listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 10)
            {
            }
        }

        loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string Realm => $"http://127.0.0.1:{Port}/token";

    /// <summary>The query strings of the token requests, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The registry config section that makes it require tokens from this server.</summary>
    public string RegistryConfig(string certificatePath) => $"""
        auth:
          token:
            realm: {Realm}
            service: {Service}
            issuer: {Issuer}
            rootcertbundle: {certificatePath}
        """;

    /// <summary>A token granting <paramref name="actions"/> on <paramref name="repository"/>.</summary>
    public string Token(string repository, params string[] actions)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = JsonSerializer.SerializeToUtf8Bytes(new { typ = "JWT", alg = "RS256", x5c = new[] { Convert.ToBase64String(certificate.RawData) } });
        var claims = JsonSerializer.SerializeToUtf8Bytes(new
        {
            iss = Issuer,
            sub = "",
            aud = Service,
            exp = now + 600,
            nbf = now - 60,
            iat = now - 60,
            jti = Guid.NewGuid().ToString("N"),
            access = new[] { new { type = "repository", name = repository, actions } },
        });
        var signingInput = Base64Url(header) + "." + Base64Url(claims);
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var query = context.Request.Url!.Query.TrimStart('?');
            Requests.Enqueue(query);
            var scope = context.Request.QueryString["scope"];
            var service = context.Request.QueryString["service"];
            byte[] body;
            if (requiredAuthorization is not null && context.Request.Headers["Authorization"] != requiredAuthorization)
            {
                context.Response.StatusCode = 401;
                body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}"u8.ToArray();
            }
            else if (context.Request.Url.AbsolutePath != "/token" || service != Service || scope?.Split(':') is not ["repository", var repository, _])
            {
                context.Response.StatusCode = 400;
                body = "{\"errors\":[{\"code\":\"bad request\"}]}"u8.ToArray();
            }
            else
            {
                body = JsonSerializer.SerializeToUtf8Bytes(new { token = Token(repository, "pull", "push") });
            }

            context.Response.ContentType = "application/json";
            try
            {
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client went away before the answer (the registry gave up on a slow token, or the test is over):
                // its request is done either way; keep serving the others.
                context.Response.Abort();
            }
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        listener.Stop();
        listener.Close();
        try
        {
            await loop;
        }
        catch (ObjectDisposedException)
        {
        }

        certificate.Dispose();
        key.Dispose();
    }
}
