using System.Collections;
using FnOperator.Contracts;
using FnOperator.Gateway.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Local;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Tests;

/// <summary>The gateway's admission budgets and limits, and local mode's shim environment (issue #17).</summary>
public sealed class AdmissionBudgetTests
{
    private static readonly FunctionKey A = new("default", "a");
    private static readonly FunctionKey B = new("default", "b");

    [Fact]
    public void Sync_budget_refuses_past_the_per_function_and_overall_limits_and_release_frees_it()
    {
        var budget = new AdmissionBudget(new GatewayLimits { SyncBytesPerFunction = 10, SyncBytes = 15 }, new InMemoryInvocationQueue(TimeProvider.System), TimeProvider.System);

        Assert.True(budget.TryReserve(InvocationType.RequestResponse, A, 10));
        Assert.False(budget.TryReserve(InvocationType.RequestResponse, A, 1));
        Assert.True(budget.TryReserve(InvocationType.RequestResponse, B, 5));
        Assert.False(budget.TryReserve(InvocationType.RequestResponse, B, 1));
        budget.Release(InvocationType.RequestResponse, A, 10);
        Assert.True(budget.TryReserve(InvocationType.RequestResponse, B, 5));
        Assert.Equal((0, 10), budget.Held);
    }

    [Fact]
    public async Task Async_budget_is_recounted_from_what_the_queue_still_holds()
    {
        var queue = new InMemoryInvocationQueue(TimeProvider.System);
        var budget = new AdmissionBudget(new GatewayLimits { AsyncBytesPerFunction = 10, AsyncBytes = 100 }, queue, TimeProvider.System);
        Assert.True(budget.TryReserve(InvocationType.Event, A, 8));
        await queue.EnqueueAsync(Event(8), new EnqueueOptions(TimeSpan.FromMinutes(1)), CancellationToken.None);

        Assert.False(budget.TryReserve(InvocationType.Event, A, 8));

        // Once a worker took the event, the recount (at most every 100 ms) finds the bytes gone.
        Assert.NotNull(await queue.NextAsync(A, "$LATEST", TimeSpan.FromSeconds(1), CancellationToken.None));
        await Task.Delay(150);
        Assert.True(budget.TryReserve(InvocationType.Event, A, 8));
    }

    [Fact]
    public void Limits_come_from_the_environment_and_reject_nonsense()
    {
        var limits = GatewayLimits.FromEnvironment(new Hashtable { [GatewayLimits.MaxConnectionsVariable] = "10", [GatewayLimits.SyncBytesVariable] = "2048" });

        Assert.Equal(10, limits.MaxConnections);
        Assert.Equal(2048, limits.SyncBytes);
        Assert.Equal(new GatewayLimits().AsyncBytes, limits.AsyncBytes);
        Assert.Throws<ArgumentException>(() => GatewayLimits.FromEnvironment(new Hashtable { [GatewayLimits.AsyncBytesVariable] = "-1" }));
    }

    [Fact]
    public void Local_shim_environment_is_minimal_names_the_function_variables_and_passes_only_the_opt_in()
    {
        var launch = new Dictionary<string, string> { ["AWS_LAMBDA_FUNCTION_NAME"] = "fn", ["FNOP_RUNTIME"] = "nodejs22.x", ["GREETING"] = "hi" };
        var host = new Hashtable { ["PATH"] = "/bin", ["SECRET"] = "x", ["AWS_PROFILE"] = "dev", [LocalSandbox.PassEnvVariable] = "AWS_PROFILE", [LocalSandbox.IsolationVariable] = "none" };

        var env = LocalSandbox.ShimEnvironment(launch, "/nowhere/FnOperator.RuntimeShim.dll", host);

        Assert.Equal("/bin", env["PATH"]);
        Assert.Equal("dev", env["AWS_PROFILE"]);
        Assert.Equal("AWS_PROFILE", env[LocalSandbox.PassEnvVariable]);
        Assert.Equal("AWS_LAMBDA_FUNCTION_NAME,GREETING", env["FNOP_FUNCTION_ENV"]);
        Assert.DoesNotContain("SECRET", env.Keys);
        Assert.DoesNotContain("FNOP_RUNTIME_UID", env.Keys);
    }

    private static Invocation Event(int bytes) => new()
    {
        RequestId = Guid.NewGuid().ToString(),
        Namespace = A.Namespace,
        FunctionName = A.Name,
        Version = "$LATEST",
        InvokedFunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:a",
        Type = InvocationType.Event,
        Payload = new byte[bytes],
        AcceptedAt = DateTimeOffset.UtcNow,
    };
}
