using FnOperator.Api;
using FnOperator.Operator.Resources;
using k8s.Models;

namespace FnOperator.Operator.Tests.Resources;

public sealed class DeploymentBuilderTests
{
    private static readonly OperatorOptions Options = new()
    {
        GatewayUrl = "http://gw.fn-system:8080",
        ShimImage = "fnoperator/runtime-shim:1.2.3",
        FetchImage = "busybox:1.37",
    };

    private static readonly ResolvedCode UrlCode = new() { Source = CodeSource.Url, Url = "https://code.example.com/hello.zip", Sha256 = TestFunctions.Sha };

    private static V1Deployment Build(Function fn, ResolvedCode? code = null, IReadOnlyList<ResolvedLayer>? layers = null, OperatorOptions? options = null) =>
        DeploymentBuilder.Build(fn, code ?? UrlCode, layers ?? [], options ?? Options);

    private static V1Container Runtime(V1Deployment d) => Assert.Single(d.Spec.Template.Spec.Containers);

    private static string? Env(V1Deployment d, string name) => Runtime(d).Env.SingleOrDefault(e => e.Name == name)?.Value;

    [Theory]
    [InlineData("nodejs22.x", "public.ecr.aws/lambda/nodejs:22", "/lambda-entrypoint.sh index.handler")]
    [InlineData("nodejs20.x", "public.ecr.aws/lambda/nodejs:20", "/lambda-entrypoint.sh index.handler")]
    [InlineData("python3.12", "public.ecr.aws/lambda/python:3.12", "/lambda-entrypoint.sh index.handler")]
    [InlineData("dotnet8", "public.ecr.aws/lambda/dotnet:8", null)] // the shim runs the project's .NET bootstrap
    [InlineData("dotnet10", "public.ecr.aws/lambda/dotnet:10", null)]
    [InlineData("provided.al2023", "public.ecr.aws/lambda/provided:al2023", null)] // the shim runs the code's own bootstrap
    [InlineData("provided.al2", "public.ecr.aws/lambda/provided:al2", null)]
    public void Runtime_container_uses_the_runtime_base_image_with_the_shim_as_command(string runtime, string image, string? runtimeCommand)
    {
        var d = Build(TestFunctions.Node(change: s => s.Runtime = runtime));

        Assert.Equal(image, Runtime(d).Image);
        Assert.Equal(["/fnop-bin/runtime-shim"], Runtime(d).Command);
        Assert.Equal(runtime, Env(d, "FNOP_RUNTIME"));
        Assert.Equal(runtimeCommand, Env(d, "FNOP_RUNTIME_COMMAND"));
    }

    [Fact]
    public void Image_code_is_started_through_the_base_image_entrypoint_even_for_provided()
    {
        var fn = TestFunctions.Node(change: s =>
        {
            s.Runtime = "provided.al2023";
            s.Code = new FunctionCode { Image = "registry.example/fn:1" };
        });

        var d = Build(fn, new ResolvedCode { Source = CodeSource.Image, Image = "registry.example/fn:1", Sha256 = TestFunctions.Sha });

        Assert.Equal("registry.example/fn:1", Runtime(d).Image);
        Assert.Equal("/lambda-entrypoint.sh index.handler", Env(d, "FNOP_RUNTIME_COMMAND"));
    }

    [Fact]
    public void Runtime_image_map_is_configurable()
    {
        var options = Options with { RuntimeImages = new() { ["nodejs22.x"] = "mirror.local/node:22" } };

        Assert.Equal("mirror.local/node:22", Runtime(Build(TestFunctions.Node(), options: options)).Image);
    }

    [Theory]
    [InlineData(128, 50, "160Mi", "72m")] // memory: memoryMiB + the shim's 32 Mi; cpu: from memoryMiB alone
    [InlineData(512, 50, "544Mi", "289m")]
    [InlineData(992, 50, "1Gi", "561m")] // quantities in canonical form, as the API server returns them
    [InlineData(1769, 50, "1801Mi", "1")]
    [InlineData(10240, 50, "10272Mi", "5789m")]
    [InlineData(128, 100, "160Mi", "100m")]
    public void Memory_request_and_limit_add_the_shim_share_and_cpu_is_proportional_to_memoryMiB_with_a_floor(int memoryMiB, int floor, string memory, string cpu)
    {
        var d = Build(TestFunctions.Node(change: s => s.MemoryMiB = memoryMiB), options: Options with { MinCpuMillicores = floor });
        var resources = Runtime(d).Resources;

        Assert.Equal(memory, resources.Limits["memory"].ToString());
        Assert.Equal(memory, resources.Requests["memory"].ToString());
        Assert.Equal(cpu, resources.Limits["cpu"].ToString());
        Assert.Equal(cpu, resources.Requests["cpu"].ToString());
        Assert.Equal(memoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture), Env(d, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"));
    }

    public static TheoryData<string, ResolvedCode, string[], string?> CodeCases => new()
    {
        { "url", UrlCode, ["install-shim", "fetch-code"], "code" },
        { "configMap", new ResolvedCode { Source = CodeSource.ConfigMap, ConfigMapName = "hello-code", Sha256 = "abc" }, ["install-shim", "fetch-code"], "code" },
        { "image", new ResolvedCode { Source = CodeSource.Image, Image = "registry.local/hello:1", Sha256 = "def" }, ["install-shim"], null },
    };

    [Theory]
    [MemberData(nameof(CodeCases))]
    public void Code_source_decides_init_containers_and_the_task_root_volume(string _, ResolvedCode code, string[] initContainers, string? taskRootVolume)
    {
        var d = Build(TestFunctions.Node(), code);
        var pod = d.Spec.Template.Spec;

        Assert.Equal(initContainers, pod.InitContainers.Select(c => c.Name));
        Assert.Equal(taskRootVolume, Runtime(d).VolumeMounts.SingleOrDefault(m => m.MountPath == "/var/task")?.Name);
        Assert.Equal(code.Sha256, d.Spec.Template.Metadata.Annotations[Names.AnnotationCodeSha256]);
        if (code.Source == CodeSource.Image)
        {
            Assert.Equal("registry.local/hello:1", Runtime(d).Image);
        }
    }

    [Fact]
    public void Url_code_is_fetched_and_checked_against_its_sha256()
    {
        var fetch = Build(TestFunctions.Node()).Spec.Template.Spec.InitContainers.Single(c => c.Name == "fetch-code");

        Assert.Equal("busybox:1.37", fetch.Image);
        Assert.Contains("sha256sum -c", fetch.Command[2], StringComparison.Ordinal);
        Assert.Equal(UrlCode.Url, fetch.Env.Single(e => e.Name == "FNOP_URL").Value);
        Assert.Equal(TestFunctions.Sha, fetch.Env.Single(e => e.Name == "FNOP_SHA256").Value);
        Assert.Equal("/var/task", Assert.Single(fetch.VolumeMounts).MountPath);
    }

    [Fact]
    public void ConfigMap_code_is_copied_from_a_configmap_volume()
    {
        var d = Build(TestFunctions.Node(), new ResolvedCode { Source = CodeSource.ConfigMap, ConfigMapName = "hello-code", Sha256 = "abc" });

        Assert.Equal("hello-code", d.Spec.Template.Spec.Volumes.Single(v => v.Name == Names.CodeSourceVolume).ConfigMap.Name);
    }

    [Theory]
    [InlineData(512, "512Mi")]
    [InlineData(10240, "10Gi")]
    public void Tmp_is_an_emptydir_sized_by_ephemeral_storage(int mib, string size)
    {
        var d = Build(TestFunctions.Node(change: s => s.EphemeralStorageMiB = mib));

        Assert.Equal(size, d.Spec.Template.Spec.Volumes.Single(v => v.Name == Names.TmpVolume).EmptyDir.SizeLimit.ToString());
        Assert.Contains(Runtime(d).VolumeMounts, m => m.MountPath == "/tmp" && m.Name == Names.TmpVolume);
    }

    [Fact]
    public void Every_container_meets_the_restricted_pod_security_standard()
    {
        var pod = Build(TestFunctions.Node(), layers: [new ResolvedLayer("l", 1, new string('a', 64)) { Url = "https://l/l.zip" }, new ResolvedLayer("c", 1, "c") { ConfigMap = "c-v1" }, new ResolvedLayer("i", 1, "i") { Image = "registry.example/layer:1" }]).Spec.Template.Spec;

        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
        foreach (var container in pod.InitContainers.Concat(pod.Containers))
        {
            Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
            Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
            Assert.True(container.SecurityContext.RunAsNonRoot);
            Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
            Assert.Equal("RuntimeDefault", container.SecurityContext.SeccompProfile.Type);
        }
    }

    [Fact]
    public void Environment_carries_the_shim_contract_then_user_values_and_references()
    {
        var fn = TestFunctions.Node("greeter", "team-a", s =>
        {
            s.TimeoutSeconds = 30;
            s.Environment =
            [
                new EnvironmentVariable { Name = "GREETING", Value = "hi" },
                new EnvironmentVariable { Name = "TOKEN", SecretKeyRef = new KeyReference { Name = "creds", Key = "token" } },
                new EnvironmentVariable { Name = "MODE", ConfigMapKeyRef = new KeyReference { Name = "settings", Key = "mode" } },
            ];
        });
        var d = Build(fn);
        var env = Runtime(d).Env;

        Assert.Equal("http://gw.fn-system:8080", Env(d, "FNOP_SOURCE_URL"));
        Assert.Equal("team-a", Env(d, "FNOP_FUNCTION_NAMESPACE"));
        Assert.Equal("greeter", Env(d, "AWS_LAMBDA_FUNCTION_NAME"));
        Assert.Equal("$LATEST", Env(d, "AWS_LAMBDA_FUNCTION_VERSION"));
        Assert.Equal("30", Env(d, "FNOP_TIMEOUT_SECONDS"));
        Assert.Equal("index.handler", Env(d, "_HANDLER"));
        Assert.Equal("/var/task", Env(d, "LAMBDA_TASK_ROOT"));
        Assert.Equal("hi", Env(d, "GREETING"));
        Assert.Equal("creds", env.Single(e => e.Name == "TOKEN").ValueFrom.SecretKeyRef.Name);
        Assert.Equal("mode", env.Single(e => e.Name == "MODE").ValueFrom.ConfigMapKeyRef.Key);
        Assert.Equal(40, d.Spec.Template.Spec.TerminationGracePeriodSeconds);
    }

    [Fact]
    public void Metadata_carries_labels_selector_and_a_controller_owner_reference()
    {
        var d = Build(TestFunctions.Node("hello", "team-a"));

        Assert.Equal("hello-latest", d.Metadata.Name);
        Assert.Equal("team-a", d.Metadata.NamespaceProperty);
        Assert.Equal("hello", d.Metadata.Labels[Names.LabelFunction]);
        Assert.Equal("hello", d.Metadata.Labels[Names.LabelName]);
        Assert.Equal("latest", d.Spec.Template.Metadata.Labels[Names.LabelVersion]);
        Assert.Equal(d.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels.Where(p => d.Spec.Template.Metadata.Labels[p.Key] == p.Value).ToDictionary());
        var owner = Assert.Single(d.Metadata.OwnerReferences);
        Assert.Equal(("fnoperator.io/v1alpha1", "Function", "hello", "uid-hello", true), (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller == true));
    }

    [Theory]
    [InlineData(null, 1)]
    [InlineData(0, 1)]
    [InlineData(3, 3)]
    public void Replicas_start_at_provisioned_concurrency_or_one(int? provisioned, int replicas)
    {
        var d = Build(TestFunctions.Node(change: s => s.Concurrency = provisioned is null ? null : new ConcurrencySpec { Provisioned = provisioned }));

        Assert.Equal(replicas, d.Spec.Replicas);
    }

    [Fact]
    public void Service_account_is_the_functions_and_tokens_are_mounted_only_then()
    {
        Assert.False(Build(TestFunctions.Node()).Spec.Template.Spec.AutomountServiceAccountToken);
        var pod = Build(TestFunctions.Node(change: s => s.ServiceAccountName = "reader")).Spec.Template.Spec;
        Assert.Equal("reader", pod.ServiceAccountName);
        Assert.True(pod.AutomountServiceAccountToken);
    }

    public static TheoryData<string, Action<FunctionSpec>> Changes => new()
    {
        { "memory", s => s.MemoryMiB = 256 },
        { "env", s => s.Environment = [new EnvironmentVariable { Name = "X", Value = "1" }] },
        { "runtime image", s => s.Runtime = "nodejs20.x" },
        { "timeout", s => s.TimeoutSeconds = 10 },
        { "handler", s => s.Handler = "other.handler" },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Template_hash_changes_with_every_pod_input(string _, Action<FunctionSpec> change)
    {
        var before = Build(TestFunctions.Node()).Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash];
        var again = Build(TestFunctions.Node()).Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash];
        var after = Build(TestFunctions.Node(change: change)).Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash];

        Assert.Equal(before, again);
        Assert.NotEqual(before, after);
    }

    [Fact]
    public void Code_change_changes_the_template_hash()
    {
        var a = Build(TestFunctions.Node(), new ResolvedCode { Source = CodeSource.ConfigMap, ConfigMapName = "c", Sha256 = "one" });
        var b = Build(TestFunctions.Node(), new ResolvedCode { Source = CodeSource.ConfigMap, ConfigMapName = "c", Sha256 = "two" });

        Assert.NotEqual(a.Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash], b.Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash]);
    }

    [Fact]
    public void Long_names_give_valid_label_values()
    {
        var name = new string('f', 80);
        var value = Names.LabelValue(name);

        Assert.True(value.Length <= 63);
        Assert.NotEqual(value, Names.LabelValue(new string('f', 79) + "g"));
    }
}
