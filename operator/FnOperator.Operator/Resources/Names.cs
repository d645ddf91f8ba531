using System.Security.Cryptography;
using System.Text;
using FnOperator.Api;

namespace FnOperator.Operator.Resources;

/// <summary>Every name, label and annotation the operator puts on the objects it owns.</summary>
public static class Names
{
    public const string ManagedBy = "fn-operator";
    public const string LatestVersion = "$LATEST";

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

    public const string ShimMountPath = "/fnop-bin";
    public const string TaskRoot = "/var/task";
    public const string CodeSourceMountPath = "/fnop-code-source";
    public const string LayersMountPath = "/opt";
    public const string TmpMountPath = "/tmp";

    public const int ShimHttpPort = 9100;
    public const string ShimHttpPortName = "http-shim";

    /// <summary>Deployment running $LATEST of the function.</summary>
    public static string Deployment(Function fn) => fn.Metadata.Name + "-latest";

    /// <summary>Labels on the Deployment and its pods.</summary>
    public static Dictionary<string, string> Labels(Function fn) => new(StringComparer.Ordinal)
    {
        [LabelName] = LabelValue(fn.Metadata.Name),
        [LabelComponent] = "function",
        [LabelManagedBy] = ManagedBy,
        [LabelFunction] = LabelValue(fn.Metadata.Name),
        [LabelVersion] = LatestVersionLabel,
    };

    /// <summary>The immutable Deployment selector.</summary>
    public static Dictionary<string, string> Selector(Function fn) => new(StringComparer.Ordinal)
    {
        [LabelFunction] = LabelValue(fn.Metadata.Name),
        [LabelVersion] = LatestVersionLabel,
    };

    /// <summary>A label value: the text itself when it fits in 63 characters, else a prefix and a hash.</summary>
    public static string LabelValue(string text)
    {
        if (text.Length <= 63)
        {
            return text;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..10];
        return text[..52].TrimEnd('-', '.', '_') + "-" + hash;
    }

    public static string InvokeUrl(string baseUrl, Function fn) =>
        $"{baseUrl.TrimEnd('/')}/2015-03-31/functions/{Uri.EscapeDataString(fn.Metadata.NamespaceProperty + "/" + fn.Metadata.Name)}/invocations";
}
