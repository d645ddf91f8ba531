using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// REPORT's Max Memory Used after the runtime crashed mid-invocation is the peak of the runtime that ran it, not of the
/// fresh runtime that replaces it (the timeout case: ShimSandboxTests.Report_after_a_timeout_shows_the_peak_of_the_runtime_that_ran).
/// </summary>
public sealed class ReportAfterCrashTests
{
    [Fact]
    public async Task Report_after_the_runtime_exits_mid_invocation_shows_the_peak_of_the_runtime_that_ran()
    {
        // 96 MB touched (Buffer.alloc fills it), held for 3 s so the shim's 50 ms sampler sees it, then the runtime exits.
        await using var fn = await InlineFunction.StartAsync(Client.NodeBootstrap, "app.mjs", """
            export const handler = async (event) => {
              if (event.crash) {
                globalThis.held = Buffer.alloc(96 * 1024 * 1024, 1);
                await new Promise((resolve) => setTimeout(resolve, 3000));
                process.exit(3);
              }
              return "fine";
            };
            """, new() { ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "512" });

        var crashed = await fn.Server.InvokeAsync("""{"crash":true}""");
        var next = await fn.Server.InvokeAsync("{}");

        Assert.Equal("Runtime.ExitError", crashed.ErrorType);
        Assert.Contains("Runtime exited with error: exit status 3", crashed.Text());
        Assert.True(crashed.MaxMemoryUsedMb >= 96, $"Max Memory Used {crashed.MaxMemoryUsedMb} MB after holding 96 MB");
        var report = await fn.Shim.WaitForLineAsync(l => l.StartsWith($"REPORT RequestId: {crashed.RequestId}", StringComparison.Ordinal));
        Assert.Contains($"Memory Size: 512 MB\tMax Memory Used: {crashed.MaxMemoryUsedMb} MB", report);
        Assert.True(next.Outcome == InvocationOutcome.Success, next.Describe());
        Assert.True(next.MaxMemoryUsedMb < 96, $"the fresh runtime's peak is its own: {next.MaxMemoryUsedMb} MB");
    }
}
