using System.Collections;
using System.Diagnostics;
using System.Globalization;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>FNOP_PARENT_PID: the shim (and its runtime) does not outlive the process that started it.</summary>
public sealed class ParentWatchTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Shim_and_its_runtime_exit_when_the_watched_parent_is_killed()
    {
        using var parent = StartThrowawayParent();
        await using var fn = await FunctionUnderTest.StartAsync(Client.NodeBootstrap,
            extra: new Dictionary<string, string> { ["FNOP_PARENT_PID"] = Pid(parent) });
        var result = await fn.InvokeAsync("slow", value: 1);
        Assert.True(result.Outcome == FnOperator.Contracts.InvocationOutcome.Success, result.Describe());
        var runtimes = ChildrenOf(fn.Shim.Pid);
        Assert.NotEmpty(runtimes);

        parent.Kill();

        Assert.Equal(0, await fn.Shim.Exited.WaitAsync(Wait));
        Assert.Empty(await WaitUntilGoneAsync(runtimes));
        Assert.Contains($"Parent process {parent.Id} (FNOP_PARENT_PID) is gone", fn.Shim.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_flight_invocation_does_not_keep_the_shim_alive_after_the_parent_is_gone()
    {
        using var parent = StartThrowawayParent();
        await using var fn = await FunctionUnderTest.StartAsync(Client.NodeBootstrap, timeoutSeconds: 600,
            extra: new Dictionary<string, string> { ["FNOP_PARENT_PID"] = Pid(parent) });
        var slow = fn.Server.Enqueue("""{"action":"slow","value":500000}""");
        await fn.Shim.WaitForLineAsync(l => l == $"START RequestId: {slow.RequestId} Version: $LATEST");
        var runtimes = ChildrenOf(fn.Shim.Pid);
        Assert.NotEmpty(runtimes);

        parent.Kill();

        // The invocation would run for 500 s; the shim must end it well before that.
        Assert.Equal(0, await fn.Shim.Exited.WaitAsync(Wait));
        Assert.Empty(await WaitUntilGoneAsync(runtimes));
    }

    [Fact]
    public async Task Shim_keeps_running_while_the_watched_parent_lives()
    {
        using var parent = StartThrowawayParent();
        await using var fn = await FunctionUnderTest.StartAsync(Client.NodeBootstrap,
            extra: new Dictionary<string, string> { ["FNOP_PARENT_PID"] = Pid(parent) });

        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.False(fn.Shim.Exited.IsCompleted, "the shim exited although its parent lives:\n" + fn.Shim.Errors);
        var result = await fn.InvokeAsync("slow", value: 1);
        Assert.True(result.Outcome == FnOperator.Contracts.InvocationOutcome.Success, result.Describe());
        parent.Kill();
    }

    [Theory]
    [InlineData("abc", "FNOP_PARENT_PID 'abc' must be a process id (a positive integer)")]
    [InlineData("0", "FNOP_PARENT_PID '0' must be a process id (a positive integer)")]
    [InlineData("-5", "FNOP_PARENT_PID '-5' must be a process id (a positive integer)")]
    public void Malformed_parent_pid_is_a_configuration_error(string value, string message)
    {
        var env = new Hashtable { ["AWS_LAMBDA_FUNCTION_NAME"] = "fn", ["FNOP_RUNTIME"] = "nodejs22.x", ["FNOP_PARENT_PID"] = value };

        var error = Assert.Throws<ShimConfigurationException>(() => ShimOptions.FromEnvironment(env));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parent_pid_is_read_when_set_and_absent_by_default()
    {
        var env = new Hashtable { ["AWS_LAMBDA_FUNCTION_NAME"] = "fn", ["FNOP_RUNTIME"] = "nodejs22.x" };
        Assert.Null(ShimOptions.FromEnvironment(env).ParentPid);

        env["FNOP_PARENT_PID"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(Environment.ProcessId, ShimOptions.FromEnvironment(env).ParentPid);
    }

    [Fact]
    public async Task Parent_pid_of_a_process_that_is_not_running_exits_with_code_2_and_a_clear_error()
    {
        var gone = StartThrowawayParent();
        var pid = Pid(gone);
        gone.Kill();
        await gone.WaitForExitAsync();
        gone.Dispose();

        await using var shim = await ShimProcess.StartAsync(new Dictionary<string, string>
        {
            ["AWS_LAMBDA_FUNCTION_NAME"] = "fn",
            ["FNOP_RUNTIME"] = "nodejs22.x",
            ["FNOP_SOURCE_URL"] = "http://127.0.0.1:1",
            ["FNOP_PARENT_PID"] = pid,
        }, waitForListening: false);

        Assert.Equal(2, await shim.Exited.WaitAsync(Wait));
        Assert.Contains($"FNOP_PARENT_PID '{pid}' is not a running process", shim.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Identity_is_stable_while_a_process_runs_and_null_once_it_is_reaped()
    {
        using var process = StartThrowawayParent();
        var identity = ParentWatch.Identify(process.Id);
        Assert.NotNull(identity);
        Assert.Equal(identity, ParentWatch.Identify(process.Id));

        process.Kill();
        await process.WaitForExitAsync();

        Assert.Null(ParentWatch.Identify(process.Id));
    }

    private static Process StartThrowawayParent() => Process.Start(new ProcessStartInfo("sleep", "300") { UseShellExecute = false })!;

    private static string Pid(Process process) => process.Id.ToString(CultureInfo.InvariantCulture);

    /// <summary>Direct children of <paramref name="pid"/> (the shim's runtime runs as its child, in its own session).</summary>
    private static List<int> ChildrenOf(int pid)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var child) && ParentOf(child) == pid && IsAlive(child))
            {
                children.Add(child);
            }
        }

        return children;
    }

    private static int? ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return !stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<List<int>> WaitUntilGoneAsync(List<int> pids)
    {
        var deadline = DateTime.UtcNow + Wait;
        var alive = pids.Where(IsAlive).ToList();
        while (alive.Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            alive = alive.Where(IsAlive).ToList();
        }

        return alive;
    }
}
