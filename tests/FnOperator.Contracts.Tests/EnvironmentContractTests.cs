using System.Collections;
using System.Reflection;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway.Local;
using FnOperator.Operator;
using FnOperator.Operator.Resources;
using FnOperator.RuntimeShim;
using k8s.Models;

namespace FnOperator.Contracts.Tests;

/// <summary>
/// The runtime-shim's environment contract: what the operator's builder (cluster) and local mode write is what the shim
/// reads, observed by recording the names <see cref="ShimOptions.FromEnvironment"/> looks up.
/// </summary>
public sealed class EnvironmentContractTests
{
    public static TheoryData<string> Runtimes => ["nodejs22.x", "python3.12", "dotnet8", "provided.al2023"];

    private static Function Fn(string runtime) => new()
    {
        Metadata = new V1ObjectMeta { Name = "greeter", NamespaceProperty = "team-a", Uid = "uid-1" },
        Spec = new FunctionSpec
        {
            Runtime = runtime,
            Handler = runtime.StartsWith("provided", StringComparison.Ordinal) ? null : "index.handler",
            MemoryMiB = 256,
            TimeoutSeconds = 30,
            Code = new FunctionCode { Url = "https://code.example/x.zip", Sha256 = new string('a', 64) },
        },
    };

    private static Dictionary<string, string> OperatorWrites(FunctionVersion version) =>
        EnvironmentBuilder.Build(version, new OperatorOptions()).ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal);

    private static Dictionary<string, string> LocalWrites(Function fn) =>
        new(ShimEnvironment.For(new LocalFunction(fn, "fn.yaml", "/code"), "http://127.0.0.1:9000", "eu-west-1"), StringComparer.Ordinal);

    private static (ShimOptions Options, HashSet<string> Read) ShimReads(IEnumerable<KeyValuePair<string, string>> written)
    {
        var environment = new RecordingEnvironment(written);
        var options = ShimOptions.FromEnvironment(environment);
        // The pull source reads the credential file's name itself (PullInvocationSource, with this constant), not via ShimOptions.
        if (written.Any(w => w.Key == PullProtocol.CredentialFileEnv))
        {
            environment.Read.Add(PullProtocol.CredentialFileEnv);
        }

        // So does it its instance name (the pod's, for the pull requests' instance header).
        if (written.Any(w => w.Key == PullProtocol.InstanceEnv))
        {
            environment.Read.Add(PullProtocol.InstanceEnv);
        }

        return (options, environment.Read);
    }

    /// <summary>Every constant of a names class (public const string fields), by reflection.</summary>
    private static IEnumerable<string> Constants(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!);

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void Every_name_the_operator_writes_is_one_the_shim_reads(string runtime)
    {
        var written = OperatorWrites(FunctionVersion.Latest(Fn(runtime)));

        var (_, read) = ShimReads(written);

        Assert.Empty(written.Keys.Except(read));
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void Every_name_local_mode_writes_is_one_the_shim_reads(string runtime)
    {
        var written = LocalWrites(Fn(runtime));

        var (_, read) = ShimReads(written);

        Assert.Empty(written.Keys.Except(read));
    }

    [Fact]
    public void A_written_name_the_shim_does_not_read_is_caught()
    {
        var written = OperatorWrites(FunctionVersion.Latest(Fn("nodejs22.x")));
        written["FNOP_TIMEOUT"] = "30"; // a misspelt setting: the shim would silently use its default

        var (_, read) = ShimReads(written);

        Assert.Equal(["FNOP_TIMEOUT"], written.Keys.Except(read));
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void Both_writers_set_every_name_the_shim_requires_and_a_way_to_start_the_runtime(string runtime)
    {
        var fn = Fn(runtime);
        foreach (var written in new[] { OperatorWrites(FunctionVersion.Latest(fn)), LocalWrites(fn) })
        {
            Assert.Empty(ShimVariables.Required.Except(written.Keys));
            Assert.True(written.ContainsKey(ShimVariables.Runtime) || written.ContainsKey(ShimVariables.RuntimeCommand));
        }
    }

    [Fact]
    public void Local_mode_hands_a_functions_merged_layers_to_the_shim_as_its_layers_root()
    {
        var written = new Dictionary<string, string>(
            ShimEnvironment.For(new LocalFunction(Fn("nodejs22.x"), "fn.yaml", "/code"), "http://127.0.0.1:9000", "eu-west-1", "/state/opt/team-a/greeter"),
            StringComparer.Ordinal);

        var (options, read) = ShimReads(written);

        Assert.Equal("/state/opt/team-a/greeter", written[ShimVariables.LayersRoot]);
        Assert.Contains(ShimVariables.LayersRoot, read);
        Assert.Equal("/state/opt/team-a/greeter", options.LayersRoot);
        Assert.Equal(ShimVariables.ClusterLayersRoot, ShimReads(OperatorWrites(FunctionVersion.Latest(Fn("nodejs22.x")))).Options.LayersRoot);
    }

    [Fact]
    public void Every_declared_shim_variable_is_read_by_the_shim()
    {
        var declared = Constants(typeof(ShimVariables))
            .Where(v => v.StartsWith(ShimVariables.Prefix, StringComparison.Ordinal) && v != ShimVariables.Prefix)
            .Concat(ShimVariables.LambdaNamesRead)
            .ToList();
        Assert.Contains(ShimVariables.SourceUrl, declared);

        var (_, read) = ShimReads(LocalWrites(Fn("nodejs22.x")));

        Assert.Empty(declared.Except(read));
    }

    [Fact]
    public void Shim_reads_back_the_version_and_settings_the_operator_wrote_for_a_published_version()
    {
        var fn = Fn("nodejs22.x");
        var written = OperatorWrites(FunctionVersion.Published(fn, 7, fn.Spec));

        var (options, _) = ShimReads(written);

        Assert.Equal(("greeter", "team-a", "7", 256, 30.0, "/var/task", "nodejs22.x", "index.handler"),
            (options.FunctionName, options.FunctionNamespace, options.FunctionVersion, options.MemorySizeMb, options.TimeoutSeconds,
                options.TaskRoot, options.Runtime, options.Handler));
        Assert.Equal("127.0.0.1:9001", options.RuntimeApiEndpoint.ToString());
    }

    [Fact]
    public void Lambda_variables_the_shim_sets_for_the_runtime_are_declared_and_reserved()
    {
        var (options, _) = ShimReads(LocalWrites(Fn("nodejs22.x")));

        var runtimeEnv = RuntimeLaunch.Environment(options, "127.0.0.1:9001", new Hashtable());
        var lambdaNames = runtimeEnv.Keys
            .Where(k => k.StartsWith("AWS_", StringComparison.Ordinal) || k.StartsWith("LAMBDA_", StringComparison.Ordinal) || k.StartsWith('_') || k == "TZ")
            .ToList();

        Assert.Contains(LambdaVariables.RuntimeApi, lambdaNames);
        Assert.Empty(lambdaNames.Except(Constants(typeof(LambdaVariables))));
        Assert.All(lambdaNames, name => Assert.True(ReservedVariables.IsReserved(name), $"{name} is set by the shim but not reserved"));
    }

    public static TheoryData<string> ReservedNames =>
        [.. Constants(typeof(LambdaVariables)).Where(n => n.Length > 0 && !n.StartsWith('/')), "FNOP_RUNTIME", "AWS_SECRET_ACCESS_KEY", "LAMBDA_ANYTHING"];

    [Theory]
    [MemberData(nameof(ReservedNames))]
    public void Reserved_names_are_rejected_by_the_operator_and_by_local_mode(string name)
    {
        var inCluster = Fn("nodejs22.x");
        inCluster.Spec.Environment = [new EnvironmentVariable { Name = name, Value = "x" }];
        var inLocalMode = Fn("nodejs22.x");
        inLocalMode.Spec.Environment = inCluster.Spec.Environment;
        inLocalMode.Spec.Code = new FunctionCode { Path = "." };

        var cluster = FunctionSpecValidator.Validate(inCluster.Spec, new OperatorOptions());
        var local = FunctionValidator.Validate(inLocalMode, Path.GetTempPath());

        Assert.Equal(FunctionReasons.InvalidEnvironment, cluster?.Reason);
        Assert.Contains(local, e => e.Field == "spec.environment[0].name");
    }

    [Fact]
    public void An_ordinary_name_is_accepted_by_both()
    {
        var inCluster = Fn("nodejs22.x");
        inCluster.Spec.Environment = [new EnvironmentVariable { Name = "GREETING", Value = "hi" }];
        var inLocalMode = Fn("nodejs22.x");
        inLocalMode.Spec.Environment = inCluster.Spec.Environment;
        inLocalMode.Spec.Code = new FunctionCode { Path = "." };

        Assert.Null(FunctionSpecValidator.Validate(inCluster.Spec, new OperatorOptions()));
        Assert.Empty(FunctionValidator.Validate(inLocalMode, Path.GetTempPath()));
    }
}
