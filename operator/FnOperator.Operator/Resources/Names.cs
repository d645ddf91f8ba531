using System.Security.Cryptography;
using System.Text;
using FnOperator.Api;
using FnOperator.Contracts;

namespace FnOperator.Operator.Resources;

/// <summary>Every name, label and annotation the operator puts on the objects it owns.</summary>
public static class Names
{
    public const string ManagedBy = "fn-operator";
    public const string LatestVersion = FunctionVersions.Latest;

    /// <summary>DNS-1123 label and label value limit.</summary>
    public const int MaxNameLength = 63;

    /// <summary>Label value for $LATEST ('$' is not allowed in label values).</summary>
    public const string LatestVersionLabel = "latest";

    public const string LabelName = "app.kubernetes.io/name";
    public const string LabelComponent = "app.kubernetes.io/component";
    public const string LabelManagedBy = "app.kubernetes.io/managed-by";
    public const string LabelFunction = "fnoperator.io/function";
    public const string LabelVersion = "fnoperator.io/version";

    /// <summary>Hash of everything the pod template is built from; a change rolls the Deployment.</summary>
    public const string AnnotationTemplateHash = "fnoperator.io/template-hash";

    /// <summary>SHA-256 of the code the pods run (spec sha256, or a hash of the ConfigMap's data).</summary>
    public const string AnnotationCodeSha256 = "fnoperator.io/code-sha256";

    /// <summary>
    /// On a Deployment, "autoscaler" means the autoscaler owns spec.replicas: the Function reconciler then leaves the
    /// replica count as it finds it and only sets it when it creates the Deployment.
    /// </summary>
    public const string AnnotationReplicasOwner = "fnoperator.io/replicas-owner";

    public const string ReplicasOwnerAutoscaler = "autoscaler";

    /// <summary>Selector of every Deployment the operator manages (its informer watches only these).</summary>
    public const string ManagedSelector = LabelManagedBy + "=" + ManagedBy;

    public const string RuntimeContainer = "function";
    public const string ShimInstallContainer = "install-shim";
    public const string CodeContainer = "fetch-code";
    public const string LayerContainerPrefix = "fetch-layer-";

    public const string ShimVolume = "fnop-bin";
    public const string CodeVolume = "code";
    public const string CodeSourceVolume = "code-source";
    public const string LayersVolume = "layers";
    public const string TmpVolume = "tmp";
    public const string PullCredentialVolume = "pull-credential";

    public const string ShimMountPath = "/fnop-bin";
    public const string TaskRoot = LambdaVariables.ClusterTaskRoot;
    public const string CodeSourceMountPath = "/fnop-code-source";
    public const string LayersMountPath = "/opt";
    public const string TmpMountPath = "/tmp";
    public const string PullCredentialMountPath = "/var/run/fnoperator/pull";

    public const int ShimHttpPort = 9100;
    public const string ShimHttpPortName = "http-shim";

    /// <summary>The Deployment of a function version: <c>&lt;fn&gt;-latest</c>, <c>&lt;fn&gt;-v3</c> (<see cref="ChildName"/>).</summary>
    public static string Deployment(FunctionVersion version) => ChildName(version.FunctionName, VersionSuffix(version.Version));

    /// <summary>The ControllerRevision holding published version <paramref name="number"/>'s snapshot: <c>&lt;fn&gt;-v3</c>.</summary>
    public static string Revision(string functionName, int number) =>
        ChildName(functionName, "v" + number.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>On a version's ControllerRevision: SHA-256 of its snapshot (spec without versioning, resolved code and layers).</summary>
    public const string AnnotationSnapshotHash = "fnoperator.io/snapshot-hash";

    /// <summary>The pull-credential Secret of a version's Deployment: <c>&lt;deployment&gt;-pull</c> (<see cref="ChildName"/>).</summary>
    public static string PullCredential(FunctionVersion version) => ChildName(version.FunctionName, VersionSuffix(version.Version) + "-pull");

    /// <summary>"latest" for $LATEST ('$' is not allowed in names or label values), else "v" + the number.</summary>
    public static string VersionSuffix(string version) => version == LatestVersion ? LatestVersionLabel : "v" + version;

    /// <summary>The version label's value: "latest" for $LATEST, else the number.</summary>
    public static string VersionLabel(string version) => version == LatestVersion ? LatestVersionLabel : version;

    /// <summary>Labels on a version's Deployment and its pods.</summary>
    public static Dictionary<string, string> Labels(FunctionVersion version) => new(StringComparer.Ordinal)
    {
        [LabelName] = LabelValue(version.FunctionName),
        [LabelComponent] = "function",
        [LabelManagedBy] = ManagedBy,
        [LabelFunction] = LabelValue(version.FunctionName),
        [LabelVersion] = VersionLabel(version.Version),
    };

    /// <summary>The immutable Deployment selector of a version.</summary>
    public static Dictionary<string, string> Selector(FunctionVersion version) => new(StringComparer.Ordinal)
    {
        [LabelFunction] = LabelValue(version.FunctionName),
        [LabelVersion] = VersionLabel(version.Version),
    };

    /// <summary>
    /// A child object's name: <c>&lt;function&gt;-&lt;suffix&gt;</c> when it fits in 63 characters, else the function name cut
    /// short, 8 hex digits of a hash of the whole function name, and the suffix. Stable (the same inputs give the same
    /// name), unique per function and suffix, and a DNS-1123 label (a Service name too) whenever the function's name is
    /// one (names with dots stay valid Deployment names).
    /// </summary>
    public static string ChildName(string functionName, string suffix)
    {
        var name = $"{functionName}-{suffix}";
        if (name.Length <= MaxNameLength)
        {
            return name;
        }

        var hash = Hash(functionName)[..8];
        var keep = Math.Max(1, MaxNameLength - suffix.Length - hash.Length - 2);
        return $"{functionName[..Math.Min(keep, functionName.Length)].TrimEnd('-', '.')}-{hash}-{suffix}";
    }

    /// <summary>A label value: the text itself when it fits in 63 characters, else a prefix and a hash.</summary>
    public static string LabelValue(string text)
    {
        if (text.Length <= MaxNameLength)
        {
            return text;
        }

        var hash = Hash(text)[..10];
        return text[..52].TrimEnd('-', '.', '_') + "-" + hash;
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public static string InvokeUrl(string baseUrl, Function fn) =>
        baseUrl.TrimEnd('/') + InvokeApi.InvokePath(fn.Metadata.NamespaceProperty + "/" + fn.Metadata.Name);
}
