using System.Net;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using k8s;
using k8s.Autorest;

namespace FnOperator.Operator.Controllers;

/// <summary>A registry user name and password (or token) for basic auth.</summary>
public sealed record RegistryCredential(string Username, string Password);

/// <summary>
/// The registry credential of a Function's image, from the imagePullSecrets of the ServiceAccount its pods run as
/// (spec.serviceAccountName, else <c>default</c>) — the same credentials the kubelet pulls with. Secrets of type
/// <c>kubernetes.io/dockerconfigjson</c> (<c>.dockerconfigjson</c>: <c>{"auths": {…}}</c>) and the legacy
/// <c>kubernetes.io/dockercfg</c> (<c>.dockercfg</c>); an entry matches when its key, without scheme and path, is the
/// image's registry (Docker Hub's <c>https://index.docker.io/v1/</c> and aliases match <c>docker.io</c>); it gives
/// <c>username</c>/<c>password</c> or <c>auth</c> (base64 of user:password). Read through the API one by one (Secrets
/// are not cached), at most <see cref="MaxSecrets"/> per ServiceAccount; a missing or forbidden ServiceAccount or
/// Secret means no credential (anonymous).
/// </summary>
public sealed class RegistryCredentials(IKubernetes client)
{
    public const int MaxSecrets = 10;
    private const int MaxSecretBytes = 1 << 20;

    public async Task<RegistryCredential?> FindAsync(Function fn, ImageReference reference, CancellationToken cancellationToken)
    {
        var ns = fn.Metadata.NamespaceProperty ?? "default";
        var accountName = string.IsNullOrEmpty(fn.Spec.ServiceAccountName) ? "default" : fn.Spec.ServiceAccountName;
        k8s.Models.V1ServiceAccount account;
        try
        {
            account = await client.CoreV1.ReadNamespacedServiceAccountAsync(accountName, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
        {
            return null;
        }

        foreach (var secretRef in (account.ImagePullSecrets ?? []).Where(s => !string.IsNullOrEmpty(s.Name)).Take(MaxSecrets))
        {
            k8s.Models.V1Secret secret;
            try
            {
                secret = await client.CoreV1.ReadNamespacedSecretAsync(secretRef.Name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
            {
                continue;
            }

            if (Match(secret, reference.Registry) is { } credential)
            {
                return credential;
            }
        }

        return null;
    }

    /// <summary>The credential a docker config Secret holds for <paramref name="registry"/>, if any.</summary>
    public static RegistryCredential? Match(k8s.Models.V1Secret secret, string registry)
    {
        var (key, nested) = secret.Type switch
        {
            "kubernetes.io/dockerconfigjson" => (".dockerconfigjson", true),
            "kubernetes.io/dockercfg" => (".dockercfg", false),
            _ => (null, false),
        };
        if (key is null || secret.Data?.TryGetValue(key, out var bytes) != true || bytes is null || bytes.Length > MaxSecretBytes)
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(bytes);
            var auths = json.RootElement;
            if (nested && !auths.TryGetProperty("auths", out auths))
            {
                return null;
            }

            if (auths.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            foreach (var entry in auths.EnumerateObject())
            {
                if (!string.Equals(NormalizeRegistry(entry.Name), registry, StringComparison.OrdinalIgnoreCase) || entry.Value.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                if (Text(entry.Value, "username") is { } user && Text(entry.Value, "password") is { } password)
                {
                    return new RegistryCredential(user, password);
                }

                if (Text(entry.Value, "auth") is { } auth)
                {
                    var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth));
                    var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                    if (colon > 0)
                    {
                        return new RegistryCredential(decoded[..colon], decoded[(colon + 1)..]);
                    }
                }
            }
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
        }

        return null;
    }

    /// <summary>A docker config key as the registry of an image reference: no scheme, no path, Docker Hub as <c>docker.io</c>.</summary>
    public static string NormalizeRegistry(string key)
    {
        var host = key;
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }

        var slash = host.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            host = host[..slash];
        }

        return host is "index.docker.io" or "registry-1.docker.io" or "docker.io" ? ImageReference.DockerHub : host;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;
}
