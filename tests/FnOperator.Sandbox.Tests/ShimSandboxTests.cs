using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.RuntimeShim;
using FnOperator.RuntimeShim.Tests;

namespace FnOperator.Sandbox.Tests;

/// <summary>The hostile function against one runtime-shim: environment, cleanup on crash and reset, memory, log attribution.</summary>
public sealed class ShimSandboxTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    /// <summary>Lambda's variables plus the documented minimal set (docs/runtime-shim.md "Environment").</summary>
    internal static readonly HashSet<string> Documented =
    [
        "AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_EXECUTION_ENV", "AWS_REGION", "AWS_DEFAULT_REGION", "TZ", "LANG", "PATH",
        "LD_LIBRARY_PATH", "NODE_PATH", "_X_AMZN_TRACE_ID",
    ];

    [Fact]
    public async Task Runtime_environment_holds_only_lambda_function_and_opted_in_variables()
    {
        await using var fn = await SandboxedShim.StartAsync(extra: new Dictionary<string, string>
        {
            ["SANDBOX_PLANTED_SECRET"] = "do-not-leak",
            ["GREETING"] = "hi",
            ["PASSED_ON_PURPOSE"] = "yes",
            [RuntimeLaunch.FunctionEnvVariable] = "GREETING",
            [RuntimeLaunch.PassEnvVariable] = "PASSED_ON_PURPOSE",
        });

        var result = await fn.InvokeAsync(new { action = "env" });

        var env = JsonDocument.Parse(result.Payload).RootElement.GetProperty("env").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.DoesNotContain("SANDBOX_PLANTED_SECRET", env.Keys);
        Assert.DoesNotContain(env.Values, v => v == "do-not-leak");
        Assert.Equal("hi", env["GREETING"]);
        Assert.Equal("yes", env["PASSED_ON_PURPOSE"]);
        var unexpected = env.Keys.Where(k => !Documented.Contains(k) && k is not ("GREETING" or "PASSED_ON_PURPOSE")).ToList();
        Assert.True(unexpected.Count == 0, "host variables reached the runtime: " + string.Join(", ", unexpected));
        foreach (var hostOnly in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => !Documented.Contains(k)))
        {
            Assert.DoesNotContain(hostOnly, env.Keys);
        }
    }

    [Fact]
    public async Task Setsid_and_double_forked_children_die_when_the_runtime_crashes()
    {
        await using var fn = await SandboxedShim.StartAsync();
        var secs = Marker();

        var result = await fn.InvokeAsync(new { action = "spawn", n = 5, secs, crash = true });

        Assert.Equal("Runtime.ExitError", result.ErrorType);
        Assert.True(await Procs.EventuallyAsync(() => Procs.WithArgs("sleep", secs.ToString()).Count == 0, Generous),
            $"{Procs.WithArgs("sleep", secs.ToString()).Count} children survived the crash");
        Assert.Equal(InvocationOutcome.Success, (await fn.InvokeAsync(new { action = "pid" })).Outcome);
    }

    [Fact]
    public async Task Setsid_and_double_forked_children_die_when_the_runtime_is_reset_after_a_timeout()
    {
        await using var fn = await SandboxedShim.StartAsync(timeoutSeconds: 3);
        var secs = Marker();

        var result = await fn.InvokeAsync(new { action = "spawn", n = 5, secs, hang = true });

        Assert.Equal("Sandbox.Timedout", result.ErrorType);
        Assert.True(await Procs.EventuallyAsync(() => Procs.WithArgs("sleep", secs.ToString()).Count == 0, Generous),
            $"{Procs.WithArgs("sleep", secs.ToString()).Count} children survived the reset");
    }

    [Fact]
    public async Task Allocating_512_MB_in_a_128_MB_function_fails_as_lambda_fails()
    {
        await using var fn = await SandboxedShim.StartAsync(memoryMb: 128);

        var result = await fn.InvokeAsync(new { action = "alloc", mb = 512 });

        Assert.Equal(InvocationOutcome.FunctionError, result.Outcome);
        Assert.Equal("Runtime.OutOfMemory", result.ErrorType);
        var error = JsonDocument.Parse(result.Payload).RootElement;
        Assert.Equal("Runtime.OutOfMemory", error.GetProperty("errorType").GetString());
        Assert.Equal($"RequestId: {result.RequestId} Error: Runtime exited with error: signal: killed", error.GetProperty("errorMessage").GetString());
        var report = await fn.Shim.WaitForLineAsync(l => l.StartsWith($"REPORT RequestId: {result.RequestId}", StringComparison.Ordinal));
        Assert.Contains("Memory Size: 128 MB\tMax Memory Used: 128 MB", report);

        // The sandbox is replaced: the next invocation runs in a fresh runtime.
        Assert.Equal(InvocationOutcome.Success, (await fn.InvokeAsync(new { action = "alloc", mb = 8 })).Outcome);
    }

    [Fact]
    public async Task Report_after_a_timeout_shows_the_peak_of_the_runtime_that_ran()
    {
        await using var fn = await SandboxedShim.StartAsync(memoryMb: 512, timeoutSeconds: 3);

        var result = await fn.InvokeAsync(new { action = "alloc", mb = 96, hang = true });

        Assert.Equal("Sandbox.Timedout", result.ErrorType);
        Assert.True(result.MaxMemoryUsedMb >= 96, $"Max Memory Used {result.MaxMemoryUsedMb} MB after holding 96 MB");
        var report = await fn.Shim.WaitForLineAsync(l => l.StartsWith($"REPORT RequestId: {result.RequestId}", StringComparison.Ordinal));
        Assert.Contains($"Max Memory Used: {result.MaxMemoryUsedMb} MB", report);
    }

    [Fact]
    public async Task Ten_MB_of_stdout_lands_between_its_own_START_and_END()
    {
        await using var fn = await SandboxedShim.StartAsync();
        const int Lines = 10_240;
        var tag = "tag" + Guid.NewGuid().ToString("N")[..8];

        var first = await fn.InvokeAsync(new { action = "print", lines = Lines, width = 1000, tag });
        var second = await fn.InvokeAsync(new { action = "pid" });

        Assert.Equal(InvocationOutcome.Success, first.Outcome);
        await fn.Shim.WaitForLineAsync(l => l.StartsWith($"END RequestId: {second.RequestId}", StringComparison.Ordinal));
        var lines = fn.Shim.Output.Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith($"START RequestId: {first.RequestId}", StringComparison.Ordinal));
        var end = Array.FindIndex(lines, l => l.StartsWith($"END RequestId: {first.RequestId}", StringComparison.Ordinal));
        var inside = lines[start..end].Count(l => l.Contains(tag, StringComparison.Ordinal));
        var total = lines.Count(l => l.Contains(tag, StringComparison.Ordinal));
        Assert.Equal(Lines, total);
        Assert.Equal(Lines, inside);
    }

    private static int Marker() => Random.Shared.Next(700_000, 799_999);
}
