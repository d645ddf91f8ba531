using System.Text.RegularExpressions;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// A container image reference split by Docker's naming rules: the first path component is a registry when it contains
/// '.' or ':' or is <c>localhost</c>, otherwise the image is on Docker Hub (<c>docker.io</c>, served by
/// <c>registry-1.docker.io</c>) and a one-component name gets <c>library/</c> (<c>node</c> → <c>library/node</c>).
/// No tag and no digest means <c>latest</c>.
/// </summary>
/// <param name="Name">The name as written, without tag or digest (what a pinned reference keeps).</param>
/// <param name="Registry">The registry as written (<c>docker.io</c> for Docker Hub), used to match insecure registries.</param>
/// <param name="Repository">The repository path in the registry's API (<c>library/node</c>).</param>
public sealed partial record ImageReference(string Name, string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";
    public const string DockerHubEndpoint = "registry-1.docker.io";

    /// <summary>The host[:port] the distribution API is reached at.</summary>
    public string Endpoint => Registry == DockerHub ? DockerHubEndpoint : Registry;

    /// <summary>The tag to resolve: the written one, or <c>latest</c>.</summary>
    public string EffectiveTag => Tag ?? "latest";

    /// <summary>The reference pinned to <paramref name="digest"/>: <c>name@sha256:…</c> (the tag is dropped).</summary>
    public string Pinned(string digest) => Name + "@" + digest;

    /// <summary>Parses <paramref name="image"/>; null with <paramref name="error"/> when it is not a valid reference.</summary>
    public static ImageReference? TryParse(string image, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(image) || image.Length > 4096)
        {
            error = "the image reference is empty or longer than 4096 characters";
            return null;
        }

        var rest = image;
        string? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!DigestPattern().IsMatch(digest))
            {
                error = $"'{digest}' is not a valid digest (sha256:<64 hex> or another algorithm:<hex>)";
                return null;
            }
        }

        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                error = $"'{tag}' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})";
                return null;
            }
        }

        var name = rest;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        string registry;
        string path;
        if (slash > 0 && (rest[..slash].Contains('.') || rest[..slash].Contains(':') || rest[..slash] == "localhost"))
        {
            registry = rest[..slash];
            path = rest[(slash + 1)..];
        }
        else
        {
            registry = DockerHub;
            path = rest;
        }

        if (registry is "index.docker.io" or "registry-1.docker.io")
        {
            registry = DockerHub;
        }

        if (registry == DockerHub && !path.Contains('/'))
        {
            path = "library/" + path;
        }

        if (!RegistryPattern().IsMatch(registry))
        {
            error = $"'{registry}' is not a valid registry host[:port]";
            return null;
        }

        if (path.Length == 0 || path.Length > 255 || !path.Split('/').All(c => ComponentPattern().IsMatch(c)))
        {
            error = $"'{path}' is not a valid repository (lowercase components [a-z0-9] separated by '.', '_', '__' or '-', joined by '/')";
            return null;
        }

        return new ImageReference(name, registry, path, tag, digest);
    }

    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")]
    private static partial Regex ComponentPattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")]
    private static partial Regex DigestPattern();

    [GeneratedRegex("^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?$")]
    private static partial Regex RegistryPattern();
}
