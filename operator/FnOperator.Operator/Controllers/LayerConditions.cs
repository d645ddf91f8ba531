using FnOperator.Api;
using FnOperator.Operator.Runtime;

namespace FnOperator.Operator;

/// <summary>The Layer's condition set: Ready is derived from ContentReady (the content of spec.content is published as a version).</summary>
public static class LayerConditions
{
    public const string Ready = ConditionTypes.Ready;
    public const string ContentReady = "ContentReady";

    public static ConditionSet Set { get; } = ConditionSet.Living(ContentReady);
}

/// <summary>Reasons on the Layer's conditions and Events.</summary>
public static class LayerReasons
{
    public const string Published = "Published";
    public const string ContentNotFound = "ContentNotFound";
    public const string ChecksumMismatch = "ChecksumMismatch";
    public const string TooLarge = "TooLarge";
    public const string InvalidContent = "InvalidContent";
    public const string LocalModeOnly = "LocalModeOnly";

    // Events
    public const string PublishedVersion = "PublishedVersion";
    public const string PrunedVersion = "PrunedVersion";
}

/// <summary>What the content of a Layer resolved to: the candidate for its next version.</summary>
public sealed record LayerContentResult(string Sha256, long Size, long UnzippedSize)
{
    public string? Url { get; init; }

    public IReadOnlyDictionary<string, string>? ConfigMapData { get; init; }

    public IReadOnlyDictionary<string, byte[]>? ConfigMapBinaryData { get; init; }

    public string? Image { get; init; }

    public static bool SameRuntimes(IReadOnlyCollection<string>? a, IReadOnlyCollection<string>? b) =>
        (a ?? []).Order(StringComparer.Ordinal).SequenceEqual((b ?? []).Order(StringComparer.Ordinal), StringComparer.Ordinal);

    public static bool Matches(LayerVersion version, LayerContentResult content, List<string>? runtimes) =>
        version.CodeSha256 == content.Sha256 && SameRuntimes(version.CompatibleRuntimes, runtimes);
}
