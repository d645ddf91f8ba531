using System.Text.RegularExpressions;

namespace FnOperator.Chart.Tests;

/// <summary>
/// The settings the chart hands to the operator and the gateway exist in their code (read from the sources, so a
/// renamed setting fails here instead of being silently ignored by configuration binding in a cluster).
/// </summary>
public sealed partial class ProcessContractTests
{
    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Every_operator_setting_the_chart_sets_is_an_OperatorOptions_property(string valueSet)
    {
        var source = File.ReadAllText(Repo.At("operator", "FnOperator.Operator", "OperatorOptions.cs"));
        var properties = OptionsProperty().Matches(source).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Contains("GatewayUrl", properties);

        var manifests = await ValueSets.RenderAsync(valueSet);
        var settings = WorkloadTests.Env(manifests.Single("Deployment", "fn-operator")).Keys
            .Where(k => k.StartsWith("Operator__", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(settings);
        Assert.All(settings, key => Assert.True(properties.Contains(key.Split("__")[1]), $"{key}: OperatorOptions has no such property"));
    }

    [Fact]
    public void Operator_reads_its_pod_identity_from_the_env_the_chart_sets()
    {
        var app = File.ReadAllText(Repo.At("operator", "FnOperator.Operator", "Hosting", "OperatorApp.cs"));
        Assert.Contains("config[\"POD_NAMESPACE\"]", app);
        Assert.Contains("config[\"POD_NAME\"]", app);
        Assert.Contains("http://0.0.0.0:8080", app);
    }

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Every_gateway_option_the_chart_passes_is_accepted_by_gateway_serve(string valueSet)
    {
        var serve = File.ReadAllText(Repo.At("operator", "FnOperator.Gateway", "ServeMode.cs"));
        var parse = ServeOptions().Match(serve);
        Assert.True(parse.Success, "ServeMode.cs no longer parses its options with Cli.ParseOptions(args, ...)");
        var allowed = QuotedWord().Matches(parse.Groups[1].Value).Select(m => "--" + m.Groups[1].Value).ToHashSet();

        var manifests = await ValueSets.RenderAsync(valueSet);
        var args = Manifests.Strings(manifests.Single("Deployment", "fn-operator-gateway")["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]);
        Assert.Equal("serve", args[0]);
        for (var i = 1; i < args.Count; i += 2)
        {
            Assert.True(allowed.Contains(args[i]), $"gateway serve does not accept {args[i]} (accepts {string.Join(", ", allowed)})");
            Assert.True(i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal), $"{args[i]} has no value");
        }
    }

    [Fact]
    public async Task Function_pod_policy_and_pod_monitor_use_the_operators_shim_port_and_managed_by_label()
    {
        var names = File.ReadAllText(Repo.At("operator", "FnOperator.Operator", "Resources", "Names.cs"));
        var port = long.Parse(Constant(names, "int ShimHttpPort"), System.Globalization.CultureInfo.InvariantCulture);
        var portName = Constant(names, "string ShimHttpPortName").Trim('"');
        var managedBy = Constant(names, "string ManagedBy").Trim('"');
        Assert.Equal("app.kubernetes.io/managed-by", Constant(names, "string LabelManagedBy").Trim('"'));

        var manifests = await Helm.RenderAsync("networkPolicy.functionNamespaces={demo}", "serviceMonitor.enabled=true");
        var policy = manifests.Single("NetworkPolicy", "fn-operator-functions")["spec"]!;
        Assert.Equal(managedBy, (string?)policy["podSelector"]!["matchLabels"]!["app.kubernetes.io/managed-by"]);
        Assert.Equal(port, (long?)policy["ingress"]![0]!["ports"]![0]!["port"]);
        var monitor = manifests.OfKind("PodMonitor").Single()["spec"]!;
        Assert.Equal(portName, (string?)monitor["podMetricsEndpoints"]![0]!["port"]);
        Assert.Equal(managedBy, (string?)monitor["selector"]!["matchLabels"]!["app.kubernetes.io/managed-by"]);
    }

    [Fact]
    public void Function_pods_bind_the_runtime_api_to_loopback_as_docs_security_says()
    {
        var env = File.ReadAllText(Repo.At("operator", "FnOperator.Operator", "Resources", "EnvironmentBuilder.cs"));
        var names = File.ReadAllText(Repo.At("operator", "FnOperator.Contracts", "EnvironmentNames.cs"));
        Assert.Contains("Literal(ShimVariables.RuntimeApiAddress, ShimVariables.ClusterRuntimeApiAddress)", env);
        Assert.Contains("RuntimeApiAddress = \"FNOP_RUNTIME_API_ADDRESS\"", names);
        Assert.Contains("ClusterRuntimeApiAddress = \"127.0.0.1:9001\"", names);
        Assert.Contains("`127.0.0.1:9001`", File.ReadAllText(Repo.At("docs", "security.md")));
    }

    private static string Constant(string source, string declaration)
    {
        var match = Regex.Match(source, $@"public const {declaration} = ([^;]+);");
        Assert.True(match.Success, $"Names.cs has no 'public const {declaration}'");
        return match.Groups[1].Value.Trim();
    }

    [GeneratedRegex(@"public [\w<>,\s?\[\]]+? (\w+) \{ get; init; \}")]
    private static partial Regex OptionsProperty();

    [GeneratedRegex(@"Cli\.ParseOptions\(args,([^)]*)\)")]
    private static partial Regex ServeOptions();

    [GeneratedRegex("\"([a-z-]+)\"")]
    private static partial Regex QuotedWord();
}
