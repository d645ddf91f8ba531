using System.Text.RegularExpressions;
using FnOperator.Operator.Resources;
using k8s.Models;

namespace FnOperator.Operator.Tests.Resources;

/// <summary>Per-version child objects: names, labels, selector and environment from a <see cref="FunctionVersion"/>.</summary>
public sealed partial class VersionedBuilderTests
{
    private static readonly ResolvedCode Code = new() { Source = CodeSource.Url, Url = "https://code.example.com/hello.zip", Sha256 = TestFunctions.Sha };

    private static V1Deployment Build(FunctionVersion version) => DeploymentBuilder.Build(version, Code, [], new OperatorOptions());

    private static FunctionVersion Version(string name, string version)
    {
        var fn = TestFunctions.Node(name, "team-a");
        return version == Names.LatestVersion ? FunctionVersion.Latest(fn) : FunctionVersion.Published(fn, int.Parse(version, System.Globalization.CultureInfo.InvariantCulture), fn.Spec);
    }

    public static TheoryData<string, string, string, string> VersionCases => new()
    {
        // function, version, Deployment name, version label
        { "hello", "$LATEST", "hello-latest", "latest" },
        { "hello", "1", "hello-v1", "1" },
        { "hello", "3", "hello-v3", "3" },
        { "hello", "120", "hello-v120", "120" },
        { "order-service", "42", "order-service-v42", "42" },
    };

    [Theory]
    [MemberData(nameof(VersionCases))]
    public void Each_version_gets_its_own_deployment_labels_selector_and_version_env(string function, string version, string name, string label)
    {
        var d = Build(Version(function, version));
        var env = Assert.Single(d.Spec.Template.Spec.Containers).Env;

        Assert.Equal(name, d.Metadata.Name);
        Assert.Equal("team-a", d.Metadata.NamespaceProperty);
        Assert.Equal(label, d.Metadata.Labels[Names.LabelVersion]);
        Assert.Equal(label, d.Spec.Template.Metadata.Labels[Names.LabelVersion]);
        Assert.Equal(new Dictionary<string, string> { [Names.LabelFunction] = function, [Names.LabelVersion] = label }, d.Spec.Selector.MatchLabels);
        Assert.Equal(version, env.Single(e => e.Name == "AWS_LAMBDA_FUNCTION_VERSION").Value);
        Assert.Equal(function, Assert.Single(d.Metadata.OwnerReferences).Name);
    }

    [Fact]
    public void Latest_from_a_function_is_exactly_what_the_function_overload_builds()
    {
        var fn = TestFunctions.Node("hello", "team-a");

        var viaFunction = DeploymentBuilder.Build(fn, Code, [], new OperatorOptions());
        var viaVersion = Build(FunctionVersion.Latest(fn));

        Assert.Equal(k8s.KubernetesJson.Serialize(viaFunction), k8s.KubernetesJson.Serialize(viaVersion));
        Assert.Equal("hello-latest", viaVersion.Metadata.Name);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["app.kubernetes.io/name"] = "hello",
                ["app.kubernetes.io/component"] = "function",
                ["app.kubernetes.io/managed-by"] = "fn-operator",
                ["fnoperator.io/function"] = "hello",
                ["fnoperator.io/version"] = "latest",
            },
            viaVersion.Metadata.Labels);
    }

    [Fact]
    public void Versions_of_one_function_have_different_template_hashes_and_selectors()
    {
        var latest = Build(Version("hello", "$LATEST"));
        var v1 = Build(Version("hello", "1"));

        Assert.NotEqual(latest.Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash], v1.Spec.Template.Metadata.Annotations[Names.AnnotationTemplateHash]);
        Assert.NotEqual(latest.Spec.Selector.MatchLabels[Names.LabelVersion], v1.Spec.Selector.MatchLabels[Names.LabelVersion]);
    }

    [Fact]
    public void A_published_version_runs_its_snapshot_not_the_current_spec()
    {
        var fn = TestFunctions.Node("hello", "team-a");
        var snapshot = TestFunctions.Node("hello", "team-a", s => s.MemoryMiB = 1024).Spec;

        var d = Build(FunctionVersion.Published(fn, 2, snapshot));

        Assert.Equal("1056Mi", Assert.Single(d.Spec.Template.Spec.Containers).Resources.Limits["memory"].ToString());
        Assert.Equal("1024", Assert.Single(d.Spec.Template.Spec.Containers).Env.Single(e => e.Name == "AWS_LAMBDA_FUNCTION_MEMORY_SIZE").Value);
    }

    public static TheoryData<int, string> LongNameCases => new()
    {
        // function name length, version
        { 56, "$LATEST" },  // "-latest" makes exactly 63: unchanged
        { 57, "$LATEST" },
        { 63, "$LATEST" },
        { 63, "1" },
        { 63, "2147483647" },
        { 60, "12" },
    };

    [Theory]
    [MemberData(nameof(LongNameCases))]
    public void Long_function_names_give_valid_stable_unique_child_names(int length, string version)
    {
        var function = "f" + new string('a', length - 2) + "z";
        var other = "f" + new string('a', length - 2) + "y";

        var name = Names.Deployment(Version(function, version));

        Assert.True(name.Length <= 63, $"{name} is {name.Length} characters");
        Assert.Matches(DnsLabel(), name);
        Assert.Equal(name, Names.Deployment(Version(function, version)));
        Assert.NotEqual(name, Names.Deployment(Version(other, version)));
        Assert.EndsWith("-" + Names.VersionSuffix(version), name, StringComparison.Ordinal);
        Assert.All(Build(Version(function, version)).Metadata.Labels.Values, value => Assert.True(value.Length <= 63, value));
        if (function.Length + 1 + Names.VersionSuffix(version).Length <= 63)
        {
            Assert.Equal($"{function}-{Names.VersionSuffix(version)}", name);
        }
    }

    [Fact]
    public void Long_names_of_different_versions_stay_different()
    {
        var function = new string('a', 63);

        var names = new[] { "$LATEST", "1", "2", "10", "11" }.Select(v => Names.Deployment(Version(function, v))).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("01")]
    [InlineData("latest")]
    [InlineData("-1")]
    [InlineData("")]
    public void A_version_is_latest_or_a_published_number(string version)
    {
        var fn = TestFunctions.Node();

        Assert.Throws<ArgumentException>(() => new FunctionVersion(fn.Metadata.Name, "default", fn.Metadata.Uid, version, fn.Spec));
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
