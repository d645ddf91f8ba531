using FnOperator.Api;
using FnOperator.Gateway.Local;
using FnOperator.Operator;
using FnOperator.Operator.Resources;
using k8s.Models;

namespace FnOperator.Contracts.Tests;

/// <summary>One runtime list: the operator's image map, the operator's validator and local mode's validator agree with it.</summary>
public sealed class RuntimeListTests
{
    public static TheoryData<string> Ids => [.. LambdaRuntimes.Ids];

    [Fact]
    public void Operator_default_image_map_is_exactly_the_shared_list()
    {
        Assert.Equal(LambdaRuntimes.Ids.Order(StringComparer.Ordinal), new OperatorOptions().RuntimeImages.Keys.Order(StringComparer.Ordinal));
        Assert.All(LambdaRuntimes.All, r => Assert.StartsWith("public.ecr.aws/lambda/", r.Image, StringComparison.Ordinal));
    }

    [Fact]
    public void Shared_list_holds_every_runtime_the_cluster_ran_before_plus_dotnet10()
    {
        string[] before =
        [
            "nodejs18.x", "nodejs20.x", "nodejs22.x", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13",
            "dotnet8", "java17", "java21", "ruby3.3", "provided.al2023", "provided.al2",
        ];

        Assert.Equal(before.Append("dotnet10").Order(StringComparer.Ordinal), LambdaRuntimes.Ids.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Every_runtime_of_the_list_passes_the_operator_and_local_mode_validators(string runtime)
    {
        var handler = runtime.StartsWith("provided", StringComparison.Ordinal) ? null : "index.handler";
        var cluster = new FunctionSpec { Runtime = runtime, Handler = handler, Code = new FunctionCode { ConfigMap = new ConfigMapCodeSource { Name = "c" } } };
        var local = new Function
        {
            Metadata = new V1ObjectMeta { Name = "f" },
            Spec = new FunctionSpec { Runtime = runtime, Handler = handler, Code = new FunctionCode { Path = "." } },
        };

        Assert.Null(FunctionSpecValidator.Validate(cluster, new OperatorOptions()));
        Assert.Empty(FunctionValidator.Validate(local, Path.GetTempPath()));
    }

    [Theory]
    [InlineData("nodejs24.x", RuntimeFamily.NodeJs)]
    [InlineData("python3.14", RuntimeFamily.Python)]
    [InlineData("dotnet10", RuntimeFamily.DotNet)]
    [InlineData("provided", RuntimeFamily.Provided)]
    [InlineData("ruby3.4", RuntimeFamily.Ruby)]
    [InlineData("cobol1", null)]
    public void Family_of_an_unlisted_id_follows_its_prefix(string id, RuntimeFamily? family)
    {
        Assert.Equal(family, LambdaRuntimes.FamilyOf(id));
    }

    [Theory]
    [InlineData("HelloDotnet", "HelloDotnet")]
    [InlineData("MyLib::MyLib.Function::Handle", "MyLib")]
    public void Dotnet_handler_names_its_assembly(string handler, string assembly)
    {
        Assert.Equal(assembly, LambdaRuntimes.DotNetAssembly(handler));
    }
}
