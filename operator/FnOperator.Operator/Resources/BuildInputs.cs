namespace FnOperator.Operator.Resources;

/// <summary>How the code reaches /var/task, resolved from the spec (and the ConfigMap, when the code lives in one).</summary>
public sealed record ResolvedCode
{
    public required CodeSource Source { get; init; }

    /// <summary>status.codeSha256: the spec sha256, a hash of the ConfigMap's data, or a hash of the image reference.</summary>
    public required string Sha256 { get; init; }

    public string? Url { get; init; }

    public string? ConfigMapName { get; init; }

    public string? Image { get; init; }

    /// <summary>For a published version's image code: the reference as written (a tag) that <see cref="Image"/> pins to a digest.</summary>
    public string? ImageTag { get; init; }
}

public enum CodeSource
{
    Url,
    ConfigMap,
    Image,
}

/// <summary>
/// One layer version to place into /opt, in spec order: an archive (<see cref="Url"/> + <see cref="Sha256"/>), an immutable
/// snapshot ConfigMap, or an image whose /opt is copied.
/// </summary>
public sealed record ResolvedLayer(string Name, int Version, string Sha256)
{
    public string? Url { get; init; }

    public string? ConfigMap { get; init; }

    public string? Image { get; init; }

    public long UnzippedSize { get; init; }

    public IReadOnlyList<string> CompatibleRuntimes { get; init; } = [];
}
