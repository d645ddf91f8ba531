using k8s.Models;

namespace FnOperator.Operator.Resources;

/// <summary>The pod spec of a function version: volumes, init containers, the runtime container.</summary>
public static class PodSpecBuilder
{
    /// <summary>Lambda's sandbox user (sbx_user1051) and group.</summary>
    public const long RunAsUser = 993;
    public const long RunAsGroup = 990;

    /// <summary>
    /// The runtime-shim's share of the function container's memory, added on top of the function's <c>memoryMiB</c> in the
    /// request and the limit, so the function's code gets all of <c>memoryMiB</c> as in Lambda. The Native AOT shim measured
    /// ~20 MB idle (docs/runtime-shim.md, "The pod's resources"); 32 MiB leaves room for its GC heap under load.
    /// <c>AWS_LAMBDA_FUNCTION_MEMORY_SIZE</c> and the shim's accounting for the runtime stay at <c>memoryMiB</c>.
    /// </summary>
    public const int ShimMemoryMiB = 32;

    public static V1PodSpec Build(FunctionVersion version, ResolvedCode code, IReadOnlyList<ResolvedLayer> layers, OperatorOptions options)
    {
        var spec = version.Spec;
        var init = new List<V1Container> { ShimInstall(options) };
        var volumes = new List<V1Volume>
        {
            EmptyDir(Names.ShimVolume, 256),
            EmptyDir(Names.TmpVolume, spec.EphemeralStorageMiB),
            PullCredential(version),
        };
        var mounts = new List<V1VolumeMount>
        {
            new() { Name = Names.ShimVolume, MountPath = Names.ShimMountPath, ReadOnlyProperty = true },
            new() { Name = Names.TmpVolume, MountPath = Names.TmpMountPath },
            new() { Name = Names.PullCredentialVolume, MountPath = Names.PullCredentialMountPath, ReadOnlyProperty = true },
        };

        if (code.Source != CodeSource.Image)
        {
            volumes.Add(EmptyDir(Names.CodeVolume, null));
            mounts.Add(new() { Name = Names.CodeVolume, MountPath = Names.TaskRoot, ReadOnlyProperty = true });
            if (code.Source == CodeSource.Url)
            {
                init.Add(Fetcher(Names.CodeContainer, code.Url!, code.Sha256, Names.CodeVolume, Names.TaskRoot, options));
            }
            else
            {
                volumes.Add(new V1Volume
                {
                    Name = Names.CodeSourceVolume,
                    ConfigMap = new V1ConfigMapVolumeSource { Name = code.ConfigMapName },
                });
                init.Add(ConfigMapCopier(options));
            }
        }

        if (layers.Count > 0)
        {
            volumes.Add(EmptyDir(Names.LayersVolume, null));
            mounts.Add(new() { Name = Names.LayersVolume, MountPath = Names.LayersMountPath, ReadOnlyProperty = true });
            // In spec order into one emptyDir: a later layer's file replaces an earlier one's (unzip -o, cp).
            for (var i = 0; i < layers.Count; i++)
            {
                init.Add(LayerPlacer.Container(i, layers[i], volumes, options));
            }
        }

        var hasServiceAccount = !string.IsNullOrEmpty(spec.ServiceAccountName);
        return new V1PodSpec
        {
            ServiceAccountName = hasServiceAccount ? spec.ServiceAccountName : null,
            AutomountServiceAccountToken = hasServiceAccount,
            EnableServiceLinks = false,
            TerminationGracePeriodSeconds = spec.TimeoutSeconds + 10,
            SecurityContext = new V1PodSecurityContext
            {
                RunAsNonRoot = true,
                RunAsUser = RunAsUser,
                RunAsGroup = RunAsGroup,
                FsGroup = RunAsGroup,
                SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
            },
            InitContainers = init,
            Containers = [RuntimeContainer(version, code, mounts, options)],
            Volumes = volumes,
        };
    }

    private static V1Container RuntimeContainer(FunctionVersion version, ResolvedCode code, List<V1VolumeMount> mounts, OperatorOptions options)
    {
        var spec = version.Spec;
        var memory = new ResourceQuantity($"{ContainerMemoryMiB(spec.MemoryMiB)}Mi");
        var cpu = new ResourceQuantity($"{CpuShare.Millicores(spec.MemoryMiB, options.MinCpuMillicores)}m");
        var resources = new Dictionary<string, ResourceQuantity> { ["cpu"] = cpu, ["memory"] = memory };
        return new V1Container
        {
            Name = Names.RuntimeContainer,
            Image = code.Source == CodeSource.Image ? code.Image : options.RuntimeImages[spec.Runtime!],
            Command = [$"{Names.ShimMountPath}/{options.ShimBinaryName}"],
            Env = EnvironmentBuilder.Build(version, options),
            Ports = [new V1ContainerPort { Name = Names.ShimHttpPortName, ContainerPort = Names.ShimHttpPort, Protocol = "TCP" }],
            Resources = new V1ResourceRequirements { Requests = resources, Limits = new Dictionary<string, ResourceQuantity>(resources) },
            ReadinessProbe = Probe("/readyz", 2),
            LivenessProbe = Probe("/healthz", 10),
            VolumeMounts = mounts,
            SecurityContext = Restricted(),
        };
    }

    private static V1Container ShimInstall(OperatorOptions options) => new()
    {
        Name = Names.ShimInstallContainer,
        Image = options.ShimImage,
        Command = [.. options.EffectiveShimInstallCommand],
        VolumeMounts = [new V1VolumeMount { Name = Names.ShimVolume, MountPath = Names.ShimMountPath }],
        Resources = InitResources(),
        SecurityContext = Restricted(),
    };

    // Downloads a zip, rejects it unless its SHA-256 matches (the pod then fails to start), and extracts it.
    internal static V1Container Fetcher(string name, string url, string sha256, string volume, string path, OperatorOptions options) => new()
    {
        Name = name,
        Image = options.FetchImage,
        Command =
        [
            "sh", "-c",
            "set -eu; archive=\"$FNOP_TARGET/.fnop-archive.zip\"; wget -q -O \"$archive\" \"$FNOP_URL\"; " +
            "echo \"$FNOP_SHA256  $archive\" | sha256sum -c -s - || { echo \"sha256 mismatch for $FNOP_URL\" >&2; exit 1; }; " +
            "unzip -q -o \"$archive\" -d \"$FNOP_TARGET\"; rm -f \"$archive\"",
        ],
        Env =
        [
            new V1EnvVar { Name = "FNOP_URL", Value = url },
            new V1EnvVar { Name = "FNOP_SHA256", Value = sha256 },
            new V1EnvVar { Name = "FNOP_TARGET", Value = path },
        ],
        VolumeMounts = [new V1VolumeMount { Name = volume, MountPath = path }],
        Resources = InitResources(),
        SecurityContext = Restricted(),
    };

    private static V1Container ConfigMapCopier(OperatorOptions options) => new()
    {
        Name = Names.CodeContainer,
        Image = options.FetchImage,
        Command = ["sh", "-c", $"set -eu; cp -L {Names.CodeSourceMountPath}/* {Names.TaskRoot}/"],
        VolumeMounts =
        [
            new V1VolumeMount { Name = Names.CodeSourceVolume, MountPath = Names.CodeSourceMountPath, ReadOnlyProperty = true },
            new V1VolumeMount { Name = Names.CodeVolume, MountPath = Names.TaskRoot },
        ],
        Resources = InitResources(),
        SecurityContext = Restricted(),
    };

    internal static V1SecurityContext Restricted() => new()
    {
        AllowPrivilegeEscalation = false,
        Capabilities = new V1Capabilities { Drop = ["ALL"] },
        ReadOnlyRootFilesystem = true,
        RunAsNonRoot = true,
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    /// <summary>The function container's memory request and limit: the function's memory plus the shim's share.</summary>
    public static int ContainerMemoryMiB(int memoryMiB) => memoryMiB + ShimMemoryMiB;

    internal static V1ResourceRequirements InitResources()
    {
        var resources = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("64Mi") };
        return new V1ResourceRequirements { Requests = resources, Limits = new Dictionary<string, ResourceQuantity>(resources) };
    }

    private static V1Probe Probe(string path, int periodSeconds) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = path, Port = Names.ShimHttpPortName },
        PeriodSeconds = periodSeconds,
        FailureThreshold = 3,
    };

    /// <summary>
    /// The version's pull credential (<see cref="Names.PullCredential"/>). Mode 0400 as given; with the pod's fsGroup the
    /// kubelet makes the file root:<see cref="RunAsGroup"/> 0440, so the runtime container (gid <see cref="RunAsGroup"/>)
    /// can read it and other users cannot.
    /// </summary>
    private static V1Volume PullCredential(FunctionVersion version) => new()
    {
        Name = Names.PullCredentialVolume,
        Secret = new V1SecretVolumeSource
        {
            SecretName = Names.PullCredential(version),
            DefaultMode = Convert.ToInt32("400", 8),
            Items = [new V1KeyToPath { Key = FnOperator.Contracts.PullProtocol.CredentialSecretKey, Path = FnOperator.Contracts.PullProtocol.CredentialSecretKey }],
        },
    };

    private static V1Volume EmptyDir(string name, int? sizeLimitMiB) => new()
    {
        Name = name,
        EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = sizeLimitMiB is int mib ? new ResourceQuantity($"{mib}Mi") : null },
    };
}
