using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace FnOperator.Api;

/// <summary>How a Function publishes immutable versions (declaratively, as SAM's AutoPublishAlias does).</summary>
[Description("Publishing of immutable, numbered versions of the function.")]
public sealed class VersioningSpec
{
    public const int DefaultRetain = 10;

    [JsonPropertyName("autoPublish")]
    [DefaultValue(false)]
    [Description("When true, every change of the function's code or configuration publishes the next version (1, 2, ...): an immutable snapshot of the spec and the resolved code digest. Status-only and metadata-only changes publish nothing.")]
    public bool AutoPublish { get; set; }

    [JsonPropertyName("retain")]
    [Range(1, 100)]
    [DefaultValue(DefaultRetain)]
    [Description("How many published versions that no Alias points to are kept (1-100, default 10): the newest ones, so always the highest. Older unaliased versions are deleted; aliased versions are always kept; version numbers are never reused.")]
    public int Retain { get; set; } = DefaultRetain;
}

/// <summary>One published version in status.versions[].</summary>
[Description("A published, immutable version of the function.")]
public sealed class FunctionVersionStatus
{
    [JsonPropertyName("version")]
    [Description("The version number, as callers give it as Qualifier (\"1\", \"2\", ...).")]
    public string Version { get; set; } = "";

    [JsonPropertyName("codeSha256")]
    [Description("SHA-256 of the code the version runs.")]
    public string? CodeSha256 { get; set; }

    [JsonPropertyName("revisionName")]
    [Description("The ControllerRevision holding the version's immutable snapshot.")]
    public string? RevisionName { get; set; }

    [JsonPropertyName("description")]
    [Description("The description given when the version was published.")]
    public string? Description { get; set; }

    [JsonPropertyName("created")]
    [Description("When the version was published.")]
    public DateTime? Created { get; set; }

    [JsonPropertyName("deployed")]
    [Description("Whether the version has its own Deployment (it is referenced by an Alias or has provisioned concurrency).")]
    public bool? Deployed { get; set; }
}

/// <summary>Helpers for the published versions of a Function.</summary>
public static class FunctionVersioning
{
    /// <summary>
    /// Annotation on a Function by which the gateway's publish-version asks the operator to publish (a request id;
    /// the operator answers in status.publishRequest when it has handled it).
    /// </summary>
    public const string PublishRequestAnnotation = "fnoperator.io/publish-request";

    /// <summary>Annotation carrying the description of a requested version.</summary>
    public const string PublishDescriptionAnnotation = "fnoperator.io/publish-description";
}
