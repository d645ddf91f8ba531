using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;

namespace FnOperator.Operator.Controllers;

/// <summary>Settings of tag → digest resolution at publish (section <c>Operator:ImageDigests</c>).</summary>
public sealed class ImageDigestOptions
{
    public const string Section = "Operator:ImageDigests";

    /// <summary>Registries (host[:port] as written in the image reference) reached over plain http instead of https.</summary>
    public List<string> InsecureRegistries { get; set; } = [];

    /// <summary>Timeout of each registry request (at most four per resolution: manifest, token, manifest, manifest body).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>What a resolution gave: the digest, or why there is none.</summary>
/// <param name="Unavailable">The registry could not be asked (unreachable, timeout, 5xx): retry soon with backoff; otherwise it answered no (404, 401/403).</param>
public sealed record ImageDigestResult(string? Digest, string? Pinned, string? Error, bool Unavailable = false)
{
    public bool Resolved => Digest is not null;
}

/// <summary>
/// Resolves an image tag to its manifest digest through the OCI distribution API, so a published version runs exactly
/// the image its tag named when it was published: <c>HEAD /v2/&lt;repo&gt;/manifests/&lt;tag&gt;</c> with the OCI
/// index/manifest and Docker manifest list/v2 media types in Accept, reading <c>Docker-Content-Digest</c> (or, when a
/// registry leaves it out, GET and SHA-256 of the body, at most 4 MiB). Anonymous access, and the bearer token flow a
/// 401 with <c>WWW-Authenticate: Bearer realm=…,service=…,scope=…</c> asks for (anonymous token, scope
/// <c>repository:&lt;repo&gt;:pull</c>). https, or http for <see cref="ImageDigestOptions.InsecureRegistries"/>; each
/// request is bounded by <see cref="ImageDigestOptions.RequestTimeout"/>; no retries here (the reconcile's backoff retries).
/// With a credential (<see cref="RegistryCredentials"/>: the imagePullSecrets of the Function's ServiceAccount) the token
/// request carries it as basic auth, and a <c>Basic</c> challenge is answered with it.
/// </summary>
public sealed partial class ImageDigestResolver(ImageDigestOptions options, RegistryCredentials? credentials = null) : IDisposable
{
    private const int MaxManifestBytes = 4 << 20;
    private const int MaxTokenBytes = 1 << 20;

    private static readonly string[] MediaTypes =
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ];

    private readonly HttpClient http = new(new SocketsHttpHandler
    {
        ConnectTimeout = options.RequestTimeout,
        MaxAutomaticRedirections = 5,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = 4,
    })
    {
        Timeout = options.RequestTimeout,
        MaxResponseContentBufferSize = MaxManifestBytes,
    };

    public void Dispose() => http.Dispose();

    /// <summary>
    /// The code a version freezes: image code with a tag (or none) pinned to <c>name@digest</c>, with
    /// <see cref="ResolvedCode.Sha256"/> the digest's hex (Lambda's CodeSha256 of an image); other code unchanged.
    /// When the tag cannot be resolved, a problem with reason <see cref="ImageNotResolved"/>: CodeReady=False, looked at
    /// again after DependencyRetry, when the registry said no (unknown tag, 401/403); CodeReady=Unknown, retried with the
    /// work queue's exponential backoff (capped at 5 min), when it could not be asked (unreachable, timeout, 5xx, 429).
    /// </summary>
    public async Task<(ResolvedCode? Code, Problem? Problem)> PinAsync(Function fn, ResolvedCode code, CancellationToken cancellationToken)
    {
        if (code.Source != CodeSource.Image || code.Image is not { } image)
        {
            return (code, null);
        }

        if (ImageReference.TryParse(image, out var error) is not { } reference)
        {
            return (null, Problem.Terminal(FunctionConditions.CodeReady, FunctionReasons.InvalidCode, $"spec.code.image '{image}': {error}."));
        }

        if (reference.Digest is { } pinned)
        {
            return (code with { Sha256 = Hex(pinned) }, null);
        }

        var credential = credentials is null ? null : await credentials.FindAsync(fn, reference, cancellationToken).ConfigureAwait(false);
        var result = await ResolveAsync(reference, credential, cancellationToken).ConfigureAwait(false);
        return result.Resolved
            ? (code with { Image = result.Pinned, Sha256 = Hex(result.Digest!), ImageTag = image }, null)
            : (null, result.Unavailable
                ? Problem.Transient(FunctionConditions.CodeReady, ImageNotResolved,
                    $"No version published: image '{image}' could not be resolved to a digest ({result.Error}); retrying with backoff.")
                : Problem.AfterDependency(FunctionConditions.CodeReady, ImageNotResolved,
                    $"No version published: image '{image}' could not be resolved to a digest ({result.Error}); looked at again later."));
    }

    public const string ImageNotResolved = "ImageNotResolved";

    public async Task<ImageDigestResult> ResolveAsync(ImageReference reference, RegistryCredential? credential, CancellationToken cancellationToken)
    {
        var scheme = options.InsecureRegistries.Contains(reference.Registry, StringComparer.OrdinalIgnoreCase) ? "http" : "https";
        var manifest = new Uri($"{scheme}://{reference.Endpoint}/v2/{reference.Repository}/manifests/{Uri.EscapeDataString(reference.EffectiveTag)}");
        try
        {
            AuthenticationHeaderValue? auth = null;
            using var head = await SendAsync(HttpMethod.Head, manifest, auth, cancellationToken).ConfigureAwait(false);
            var response = head;
            HttpResponseMessage? retried = null;
            try
            {
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    var challenge = response.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase));
                    if (challenge?.Parameter is not null)
                    {
                        var token = await TokenAsync(challenge.Parameter, reference.Repository, credential, cancellationToken).ConfigureAwait(false);
                        if (token.Error is { } tokenError)
                        {
                            return Failed(tokenError);
                        }

                        auth = new AuthenticationHeaderValue("Bearer", token.Token);
                    }
                    else if (credential is not null && response.Headers.WwwAuthenticate.Any(h => h.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase)))
                    {
                        auth = Basic(credential);
                    }
                    else
                    {
                        return Failed($"{manifest.Authority} answered 401 ({(credential is null ? "no credential in the imagePullSecrets of the Function's ServiceAccount" : "no Bearer or Basic challenge")})");
                    }

                    retried = await SendAsync(HttpMethod.Head, manifest, auth, cancellationToken).ConfigureAwait(false);
                    response = retried;
                }

                switch (response.StatusCode)
                {
                    case HttpStatusCode.NotFound:
                        return Failed($"tag '{reference.EffectiveTag}' of {reference.Endpoint}/{reference.Repository} not found (404)");
                    case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                        return Failed($"{manifest.Authority} refused to pull {reference.Repository} ({(int)response.StatusCode}, {(credential is null ? "anonymously: no credential in the imagePullSecrets of the Function's ServiceAccount" : $"as {credential.Username}")})");
                    case var s when (int)s >= 500 || s == HttpStatusCode.TooManyRequests:
                        return Unavailable($"{manifest.Authority} answered {(int)s} for the manifest");
                    case var s when !response.IsSuccessStatusCode:
                        return Failed($"{manifest.Authority} answered {(int)s} for the manifest");
                }

                if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { } header)
                {
                    return Sha256Digest().IsMatch(header)
                        ? new ImageDigestResult(header, reference.Pinned(header), null)
                        : Failed($"{manifest.Authority} sent Docker-Content-Digest '{header}', not a sha256 digest");
                }

                // No digest header: hash the manifest itself.
                using var get = await SendAsync(HttpMethod.Get, manifest, auth, cancellationToken).ConfigureAwait(false);
                if (!get.IsSuccessStatusCode)
                {
                    return Failed($"{manifest.Authority} answered {(int)get.StatusCode} for the manifest body");
                }

                var body = await get.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
                return new ImageDigestResult(digest, reference.Pinned(digest), null);
            }
            finally
            {
                retried?.Dispose();
            }
        }
        catch (HttpRequestException e)
        {
            return Unavailable($"{manifest.Authority} unreachable: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Unavailable($"{manifest.Authority} did not answer within {options.RequestTimeout.TotalSeconds:0.#} s");
        }
    }

    private static AuthenticationHeaderValue Basic(RegistryCredential credential) =>
        new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(credential.Username + ":" + credential.Password)));

    private static ImageDigestResult Failed(string error) => new(null, null, error);

    private static ImageDigestResult Unavailable(string error) => new(null, null, error, Unavailable: true);

    private static string Hex(string digest) => digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest["sha256:".Length..] : digest;

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, AuthenticationHeaderValue? auth, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri);
        foreach (var type in MediaTypes)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        request.Headers.Authorization = auth;
        return await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The anonymous bearer token of a <c>Bearer realm="…",service="…",scope="…"</c> challenge.</summary>
    private async Task<(string? Token, string? Error)> TokenAsync(string challenge, string repository, RegistryCredential? credential, CancellationToken cancellationToken)
    {
        var parameters = ChallengeParameter().Matches(challenge)
            .ToDictionary(m => m.Groups[1].Value.ToLowerInvariant(), m => m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value, StringComparer.Ordinal);
        if (!parameters.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri) ||
            realmUri.Scheme is not ("https" or "http"))
        {
            return (null, $"the Bearer challenge has no usable realm ('{challenge}')");
        }

        var query = new List<string>();
        if (parameters.TryGetValue("service", out var service))
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        query.Add("scope=" + Uri.EscapeDataString(parameters.TryGetValue("scope", out var scope) ? scope : $"repository:{repository}:pull"));
        var builder = new UriBuilder(realmUri) { Query = string.Join('&', [.. (realmUri.Query.TrimStart('?') is { Length: > 0 } q ? [q] : Array.Empty<string>()), .. query]) };
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Get, builder.Uri);
        tokenRequest.Headers.Authorization = credential is null ? null : Basic(credential);
        using var response = await http.SendAsync(tokenRequest, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return (null, $"token endpoint {realmUri.Authority} answered {(int)response.StatusCode} {(credential is null ? "to an anonymous request (no credential in the imagePullSecrets of the Function's ServiceAccount)" : $"for {credential.Username}")}");
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (bytes.Length > MaxTokenBytes)
        {
            return (null, $"token endpoint {realmUri.Authority} sent more than {MaxTokenBytes} bytes");
        }

        try
        {
            using var json = JsonDocument.Parse(bytes);
            foreach (var name in (string[])["token", "access_token"])
            {
                if (json.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } token)
                {
                    return (token, null);
                }
            }
        }
        catch (JsonException)
        {
        }

        return (null, $"token endpoint {realmUri.Authority} sent no token");
    }

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex Sha256Digest();

    [GeneratedRegex("([A-Za-z_]+)=(?:\"([^\"]*)\"|([^,\\s]*))")]
    private static partial Regex ChallengeParameter();
}
