using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using FnOperator.Api.Schema;
using k8s.Models;

namespace FnOperator.Api;

/// <summary>A Lambda-style layer: an archive extracted into /opt of the functions that use it, with immutable numbered versions.</summary>
[Description("A Lambda-style layer: content extracted into /opt of the functions that list it. Each change of spec.content publishes a new immutable, numbered version.")]
[CustomResource(KindName, Plural, "fnlayer")]
[PrinterColumn(1, "Latest", "integer", ".status.latestVersion", "Highest published version number.")]
[PrinterColumn(2, "Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", "Whether the latest version is published.")]
[PrinterColumn(3, "Runtimes", "string", ".spec.compatibleRuntimes", "Compatible runtimes.", Priority = 1)]
[PrinterColumn(4, "Age", "date", ".metadata.creationTimestamp", "Time since the layer was created.")]
public sealed class Layer() : CustomResource<LayerSpec, LayerStatus>(KindName)
{
    public const string KindName = "Layer";
    public const string Plural = "layers";
}

[Description("Desired state of a Layer: the content of its next version and its metadata.")]
public sealed class LayerSpec
{
    [JsonPropertyName("content")]
    [Required]
    [Description("Where the layer's files come from. Exactly one of url, configMap, image or path. A change publishes a new version; published versions never change.")]
    public LayerContent Content { get; set; } = new();

    [JsonPropertyName("compatibleRuntimes")]
    [MaxLength(15)]
    [ItemMaxLength(64)]
    [Description("Runtimes the layer works with (at most 15), e.g. nodejs22.x. When set, a Function of another runtime that lists the layer is not deployed (CodeReady=False IncompatibleLayer).")]
    public List<string>? CompatibleRuntimes { get; set; }

    [JsonPropertyName("description")]
    [MaxLength(256)]
    [Description("Free-text description of the layer (at most 256 characters).")]
    public string? Description { get; set; }

    [JsonPropertyName("licenseInfo")]
    [MaxLength(512)]
    [Description("The layer's software license: an SPDX identifier, a URL or the full text (at most 512 characters).")]
    public string? LicenseInfo { get; set; }
}

[Description("Source of a layer's files, laid out as they appear under /opt. Exactly one of url, configMap, image, path.")]
[CelRule("(has(self.url) ? 1 : 0) + (has(self.configMap) ? 1 : 0) + (has(self.image) ? 1 : 0) + (has(self.path) ? 1 : 0) == 1",
    "exactly one of url, configMap, image or path must be set")]
[CelRule("!has(self.url) || has(self.sha256)", "url requires sha256 (64 lowercase hex digits)", FieldPath = ".sha256", Reason = "FieldValueRequired")]
public sealed class LayerContent
{
    [JsonPropertyName("url")]
    [MaxLength(2048)]
    [RegularExpression("^https?://.+")]
    [Description("HTTP(S) URL of a .zip archive extracted into /opt. Requires sha256.")]
    public string? Url { get; set; }

    [JsonPropertyName("sha256")]
    [MaxLength(64)]
    [RegularExpression("^[a-f0-9]{64}$")]
    [Description("Lowercase hex SHA-256 of the archive at url; the download is rejected when it does not match.")]
    public string? Sha256 { get; set; }

    [JsonPropertyName("configMap")]
    [Description("A ConfigMap in the layer's namespace whose keys are file names under /opt (small layers).")]
    public ConfigMapCodeSource? ConfigMap { get; set; }

    [JsonPropertyName("image")]
    [MinLength(1)]
    [MaxLength(512)]
    [Description("A container image whose /opt directory holds the layer's files.")]
    public string? Image { get; set; }

    [JsonPropertyName("path")]
    [MinLength(1)]
    [MaxLength(1024)]
    [Description("Local mode only: a directory with the layer's files, relative to the manifest file.")]
    public string? Path { get; set; }
}

[Description("Observed state of a Layer: its published versions.")]
public sealed class LayerStatus : IConditionedStatus
{
    [JsonPropertyName("conditions")]
    [Description("The Ready condition: whether the content of the latest version was fetched and published.")]
    public List<V1Condition>? Conditions { get; set; }

    [JsonPropertyName("observedGeneration")]
    [Description("The metadata.generation this status describes.")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("latestVersion")]
    [Range(1, int.MaxValue)]
    [Description("Highest published version number; versions count up from 1.")]
    public int? LatestVersion { get; set; }

    [JsonPropertyName("versions")]
    [MaxLength(1000)]
    [ListMapKeys("version")]
    [Description("Published versions, oldest first. A version, once published, is immutable.")]
    public List<LayerVersion>? Versions { get; set; }
}

[Description("An immutable published version of a layer.")]
[CelRule("self == oldSelf", "a published layer version is immutable")]
public sealed class LayerVersion
{
    [JsonPropertyName("version")]
    [Required]
    [Range(1, int.MaxValue)]
    [Description("Version number, counting up from 1.")]
    public int Version { get; set; }

    [JsonPropertyName("codeSha256")]
    [Required]
    [MaxLength(64)]
    [RegularExpression("^[a-f0-9]{64}$")]
    [Description("Lowercase hex SHA-256 of the version's archive.")]
    public string CodeSha256 { get; set; } = "";

    [JsonPropertyName("url")]
    [MaxLength(2048)]
    [Description("Where the version's archive is kept; an init container fetches it from here into /opt of each function using this version and checks codeSha256.")]
    public string? Url { get; set; }

    [JsonPropertyName("configMap")]
    [MaxLength(253)]
    [Description("For configMap content: the immutable snapshot ConfigMap (owned by the Layer) copied into /opt of each function using this version.")]
    public string? ConfigMap { get; set; }

    [JsonPropertyName("image")]
    [MaxLength(512)]
    [Description("For image content: the image whose /opt is copied into /opt of each function using this version.")]
    public string? Image { get; set; }

    [JsonPropertyName("size")]
    [Description("Size of the version's content in bytes: the zipped archive (url), the data (configMap); 0 for an image (not measured).")]
    public long Size { get; set; }

    [JsonPropertyName("unzippedSize")]
    [Description("Size of the extracted files in bytes (counted towards the 250 MB limit of a function and its layers); 0 for an image.")]
    public long UnzippedSize { get; set; }

    [JsonPropertyName("compatibleRuntimes")]
    [MaxLength(15)]
    [ItemMaxLength(64)]
    [Description("spec.compatibleRuntimes when the version was published.")]
    public List<string>? CompatibleRuntimes { get; set; }

    [JsonPropertyName("createdAt")]
    [Required]
    [Format("date-time")]
    [Description("When the version was published (RFC 3339).")]
    public DateTime CreatedAt { get; set; }
}
