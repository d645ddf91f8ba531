using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Operator.Resources;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>
/// spec.concurrency.perInstance &gt; 1 (docs/concurrency.md): a node function's pods get AWS_LAMBDA_MAX_CONCURRENCY; any
/// other runtime is refused with the InvalidConcurrency condition and a Warning Event, as the other spec rules are.
/// </summary>
public sealed class PerInstanceConcurrencyTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task A_python_function_with_four_invocations_per_instance_is_refused_with_a_condition_and_an_event()
    {
        await harness.CreateAsync(TestFunctions.Node("py", change: s =>
        {
            s.Runtime = "python3.12";
            s.Handler = "app.handler";
            s.Concurrency = new ConcurrencySpec { PerInstance = 4 };
        }));

        await harness.WaitConditionAsync("py", "Ready", "False", FunctionReasons.InvalidConcurrency);
        await harness.WaitEventAsync("py", "Warning", FunctionReasons.InvalidConcurrency);
        var fn = await harness.GetAsync("py");
        var condition = fn!.Status!.Conditions!.Single(c => c.Type == "Ready");
        Assert.Contains("spec.concurrency.perInstance", condition.Message, StringComparison.Ordinal);
        Assert.Contains("python3.12", condition.Message, StringComparison.Ordinal);
        Assert.Null(await harness.DeploymentAsync("py"));
    }

    [Fact]
    public async Task A_node_function_with_sixteen_invocations_per_instance_runs_its_shim_with_max_concurrency_16()
    {
        await harness.CreateAsync(TestFunctions.Node("many", change: s => s.Concurrency = new ConcurrencySpec { PerInstance = 16 }));

        await harness.WaitReadyAsync("many");
        var deployment = await harness.DeploymentAsync("many");
        var env = deployment!.Spec.Template.Spec.Containers.SelectMany(c => c.Env ?? []).ToList();
        Assert.Equal("16", env.Single(e => e.Name == LambdaVariables.MaxConcurrency).Value);
    }
}

public sealed class PerInstanceConcurrencyRuleTests
{
    public static TheoryData<string, Action<FunctionSpec>, string?> Cases => new()
    {
        { "default 1", _ => { }, null },
        { "node 16", s => s.Concurrency = new ConcurrencySpec { PerInstance = 16 }, null },
        { "node 64", s => s.Concurrency = new ConcurrencySpec { PerInstance = 64 }, null },
        { "node 65", s => s.Concurrency = new ConcurrencySpec { PerInstance = 65 }, FunctionReasons.InvalidConcurrency },
        { "python 2", s => { s.Runtime = "python3.12"; s.Concurrency = new ConcurrencySpec { PerInstance = 2 }; }, FunctionReasons.InvalidConcurrency },
        { "provided 2", s => { s.Runtime = "provided.al2023"; s.Concurrency = new ConcurrencySpec { PerInstance = 2 }; }, FunctionReasons.InvalidConcurrency },
        { "image without runtime 2", s => { s.Runtime = null; s.Code = new FunctionCode { Image = "r/i:1" }; s.Concurrency = new ConcurrencySpec { PerInstance = 2 }; }, FunctionReasons.InvalidConcurrency },
        { "python 1", s => { s.Runtime = "python3.12"; s.Concurrency = new ConcurrencySpec { PerInstance = 1 }; }, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void PerInstance_above_one_is_for_node_runtimes_up_to_64(string _, Action<FunctionSpec> change, string? reason)
    {
        var problem = FunctionSpecValidator.Validate(TestFunctions.Node(change: change).Spec, new OperatorOptions());

        Assert.Equal(reason, problem?.Reason);
    }

    [Fact]
    public void The_shim_gets_AWS_LAMBDA_MAX_CONCURRENCY_only_above_one()
    {
        var one = EnvironmentBuilder.Build(FunctionVersion.Latest(TestFunctions.Node()), new OperatorOptions());
        var four = EnvironmentBuilder.Build(FunctionVersion.Latest(TestFunctions.Node(change: s => s.Concurrency = new ConcurrencySpec { PerInstance = 4 })), new OperatorOptions());

        Assert.DoesNotContain(one, e => e.Name == LambdaVariables.MaxConcurrency);
        Assert.Equal("4", four.Single(e => e.Name == LambdaVariables.MaxConcurrency).Value);
    }
}
