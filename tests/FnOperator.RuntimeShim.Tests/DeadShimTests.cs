using System.Diagnostics;
using System.Globalization;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// A runtime whose shim was killed with SIGKILL (no one reads its output, no Runtime API) exits by itself within
/// seconds and with bounded memory: it never spins on a dead pipe.
/// </summary>
public sealed class DeadShimTests
{
    private const string NodeCode = """
        export const handler = async (event) => {
          if (event.action === "pid") return process.pid;
          if (event.action === "spam") setInterval(() => console.log("x".repeat(200)), 1);
          if (event.action === "stderr") setInterval(() => process.stderr.write("y".repeat(200) + "\n"), 1);
          await new Promise(() => setInterval(() => {}, 1000));
        };
        """;

    private const string PythonCode = """
        import logging
        import os
        import time

        def handler(event, context):
            if event["action"] == "pid":
                return os.getpid()
            while True:
                if event["action"] == "spam":
                    print("x" * 200)
                    logging.warning("y" * 200)
                time.sleep(0.001)
        """;

    [Theory]
    [InlineData(Client.NodeBootstrap, "spam")]
    [InlineData(Client.NodeBootstrap, "stderr")]
    [InlineData(Client.NodeBootstrap, "silent")]
    [InlineData(Client.NodeBootstrap, "idle")]
    [InlineData(Client.PythonBootstrap, "spam")]
    [InlineData(Client.PythonBootstrap, "silent")]
    [InlineData(Client.PythonBootstrap, "idle")]
    [InlineData(Client.DotnetBootstrap, "spam")]
    [InlineData(Client.DotnetBootstrap, "silent")]
    [InlineData(Client.DotnetBootstrap, "idle")]
    public async Task Runtime_exits_within_seconds_with_bounded_memory_after_its_shim_is_killed(Client client, string action)
    {
        await using var fn = client switch
        {
            Client.NodeBootstrap => await InlineFunction.StartAsync(client, "app.mjs", NodeCode),
            Client.PythonBootstrap => await InlineFunction.StartAsync(client, "app.py", PythonCode),
            _ => await FunctionUnderTest.StartAsync(client, extra: new Dictionary<string, string> { ["_HANDLER"] = FunctionUnderTest.DotnetHandler("Handlers::Lifecycle") }),
        };
        var pidResult = await fn.Server.InvokeAsync("""{"action":"pid","id":"pid"}""");
        Assert.True(pidResult.Outcome == InvocationOutcome.Success, pidResult.Describe());
        var pid = int.Parse(pidResult.Text(), CultureInfo.InvariantCulture);
        if (action != "idle")
        {
            // Mid-invocation: the handler keeps running (and, for spam/stderr, writing) when the shim dies.
            fn.Server.Enqueue($$"""{"action":"{{action}}","id":"{{action}}"}""");
            await Task.Delay(700);
        }

        using (var shim = Process.GetProcessById(fn.Shim.Pid))
        {
            shim.Kill(entireProcessTree: false);
        }

        var stopwatch = Stopwatch.StartNew();
        long peakKb = 0;
        while (RssKb(pid) is { } rss)
        {
            peakKb = Math.Max(peakKb, rss);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), $"runtime {pid} still running {stopwatch.Elapsed} after the shim was killed (RSS {rss} kB)");
            await Task.Delay(50);
        }

        Assert.True(peakKb < 150 * 1024, $"runtime grew to {peakKb} kB after the shim was killed");
    }

    /// <summary>The process's resident set in kB, or null once it has exited (a zombie counts as exited).</summary>
    private static long? RssKb(int pid)
    {
        try
        {
            var status = File.ReadAllLines($"/proc/{pid}/status");
            if (status.Any(l => l.StartsWith("State:", StringComparison.Ordinal) && l.Contains('Z')))
            {
                return null;
            }

            var rss = status.FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return rss is null ? 0 : long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
