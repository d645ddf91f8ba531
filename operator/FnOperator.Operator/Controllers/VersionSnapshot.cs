using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using k8s.Models;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// An immutable published version of a Function: the spec it runs (without spec.versioning), the code and layers as
/// they were resolved when it was published. Stored as the data of a ControllerRevision owned by the Function
/// (revision = the number, name <c>&lt;fn&gt;-v&lt;N&gt;</c>); the API server refuses changes to a revision's data.
/// </summary>
public sealed record VersionSnapshot(int Number, FunctionSpec Spec, ResolvedCode Code, IReadOnlyList<ResolvedLayer> Layers, string Hash)
{
    public const string LabelKind = "fnoperator.io/kind";
    public const string KindValue = "function-version";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Version => Number.ToString(CultureInfo.InvariantCulture);

    public string? Description { get; init; }

    public DateTime? Created { get; init; }

    public string? RevisionName { get; init; }

    /// <summary>The hash of what a version of <paramref name="spec"/> would freeze: a change of it is a change of code or configuration.</summary>
    public static string HashOf(FunctionSpec spec, ResolvedCode code, IReadOnlyList<ResolvedLayer> layers) =>
        Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(Data(Frozen(spec), code, layers), Json)));

    /// <summary>The spec a version keeps: everything but spec.versioning (publishing settings belong to the Function).</summary>
    public static FunctionSpec Frozen(FunctionSpec spec)
    {
        var copy = JsonSerializer.Deserialize<FunctionSpec>(JsonSerializer.SerializeToUtf8Bytes(spec, Json), Json)!;
        copy.Versioning = null;
        return copy;
    }

    public static VersionSnapshot Create(int number, FunctionSpec spec, ResolvedCode code, IReadOnlyList<ResolvedLayer> layers) =>
        new(number, Frozen(spec), code, [.. layers], HashOf(spec, code, layers));

    /// <summary>The ControllerRevision that stores this snapshot, owned (controller) by <paramref name="fn"/>.</summary>
    public V1ControllerRevision ToRevision(Function fn, DateTimeOffset now) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "ControllerRevision",
        Metadata = new V1ObjectMeta
        {
            Name = Names.Revision(fn.Metadata.Name, Number),
            NamespaceProperty = fn.Metadata.NamespaceProperty,
            Labels = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [Names.LabelManagedBy] = Names.ManagedBy,
                [Names.LabelFunction] = Names.LabelValue(fn.Metadata.Name),
                [Names.LabelVersion] = Version,
                [LabelKind] = KindValue,
            },
            Annotations = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [Names.AnnotationSnapshotHash] = Hash,
                [Names.AnnotationCodeSha256] = Code.Sha256,
                [FunctionVersioning.PublishDescriptionAnnotation] = Description ?? "",
            },
            OwnerReferences = [new V1OwnerReference { ApiVersion = fn.ApiVersion, Kind = fn.Kind, Name = fn.Metadata.Name, Uid = fn.Metadata.Uid, BlockOwnerDeletion = true, Controller = true }],
        },
        Revision = Number,
        Data = Data(Spec, Code, Layers),
    };

    /// <summary>The snapshot a revision stores; null when it is not one of ours or cannot be read.</summary>
    public static VersionSnapshot? FromRevision(V1ControllerRevision revision)
    {
        if (revision.Metadata.Labels?.ValueOf(LabelKind) != KindValue || revision.Revision is not (>= 1 and <= int.MaxValue) || revision.Data is null)
        {
            return null;
        }

        try
        {
            var data = JsonSerializer.Deserialize<Stored>(JsonSerializer.SerializeToUtf8Bytes(revision.Data, Json), Json);
            if (data?.Spec is null || data.Code is null)
            {
                return null;
            }

            var annotations = revision.Metadata.Annotations;
            return new VersionSnapshot((int)revision.Revision!.Value, data.Spec, data.Code, data.Layers ?? [],
                annotations?.ValueOf(Names.AnnotationSnapshotHash) ?? HashOf(data.Spec, data.Code, data.Layers ?? []))
            {
                Description = annotations?.ValueOf(FunctionVersioning.PublishDescriptionAnnotation) is { Length: > 0 } d ? d : null,
                Created = revision.Metadata.CreationTimestamp,
                RevisionName = revision.Metadata.Name,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonObject Data(FunctionSpec spec, ResolvedCode code, IReadOnlyList<ResolvedLayer> layers) =>
        JsonSerializer.SerializeToNode(new Stored(spec, code, [.. layers]), Json)!.AsObject();

    private sealed record Stored(FunctionSpec Spec, ResolvedCode Code, List<ResolvedLayer>? Layers);
}

/// <summary>Labels and annotations are IDictionary in the client models.</summary>
internal static class MetadataValues
{
    public static string? ValueOf(this IDictionary<string, string>? values, string key) =>
        values is not null && values.TryGetValue(key, out var value) ? value : null;
}
