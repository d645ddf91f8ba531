using System.Text;
using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.Sandbox.Tests;

/// <summary>
/// What counts as the function's memory under a real runtime-shim (docs/runtime-shim.md "Memory"): every process of the
/// sandbox but the shim, including a double-forked orphan the shim (a subreaper) inherited from the runtime — for REPORT's
/// Max Memory Used and for the watchdog at the memory size.
/// </summary>
public sealed class MemoryAccountingTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Memory_held_by_an_orphan_of_the_runtime_counts_in_max_memory_used()
    {
        await using var fn = await SandboxedShim.StartAsync(memoryMb: 512);
        var ready = ReadyFile();

        var result = await fn.InvokeAsync(new { action = "orphan-alloc", mb = 128, secs = 60, ready });

        Assert.Equal(InvocationOutcome.Success, result.Outcome);
        var orphan = JsonDocument.Parse(result.Payload).RootElement.GetProperty("orphan").GetInt32();
        var report = await fn.Shim.WaitForLineAsync(l => l.StartsWith($"REPORT RequestId: {result.RequestId}", StringComparison.Ordinal));
        Assert.Contains($"Max Memory Used: {result.MaxMemoryUsedMb} MB", report);
        // The orphan alone holds 128 MB; the runtime's own tree (node, ~50 MB) is not enough to reach it.
        Assert.True(result.MaxMemoryUsedMb >= 128, $"Max Memory Used {result.MaxMemoryUsedMb} MB while an orphan held 128 MB");

        // A crash of the runtime takes the orphan with it (the shim's cleanup), as before.
        Assert.Equal("Runtime.ExitError", (await fn.InvokeAsync(new { action = "spawn", n = 0, secs = 1, crash = true })).ErrorType);
        Assert.True(await Procs.EventuallyAsync(() => !Procs.Alive(orphan), Generous), $"orphan {orphan} survived the crash");
    }

    [Fact]
    public async Task An_orphan_growing_the_function_over_its_memory_size_is_stopped_as_lambda_stops_the_function()
    {
        await using var fn = await SandboxedShim.StartAsync(memoryMb: 128);
        var ready = ReadyFile();

        var result = await fn.InvokeAsync(new { action = "orphan-alloc", mb = 256, secs = 60, ready });

        Assert.Equal(InvocationOutcome.FunctionError, result.Outcome);
        Assert.Equal("Runtime.OutOfMemory", result.ErrorType);
        var error = JsonDocument.Parse(result.Payload).RootElement;
        Assert.Equal($"RequestId: {result.RequestId} Error: Runtime exited with error: signal: killed", error.GetProperty("errorMessage").GetString());
        var report = await fn.Shim.WaitForLineAsync(l => l.StartsWith($"REPORT RequestId: {result.RequestId}", StringComparison.Ordinal));
        Assert.Contains("Memory Size: 128 MB\tMax Memory Used: 128 MB", report);
        Assert.True(await Procs.EventuallyAsync(() => WithArgument(ready).Count == 0, Generous), "the orphan outlived the memory kill");

        // The sandbox is replaced: the next invocation runs in a fresh runtime.
        Assert.Equal(InvocationOutcome.Success, (await fn.InvokeAsync(new { action = "alloc", mb = 8 })).Outcome);
    }

    [Fact]
    public async Task Max_memory_used_of_a_small_invocation_does_not_include_the_shim()
    {
        await using var fn = await SandboxedShim.StartAsync(memoryMb: 512);

        var result = await fn.InvokeAsync(new { action = "pid" });

        Assert.Equal(InvocationOutcome.Success, result.Outcome);
        var runtime = JsonDocument.Parse(result.Payload).RootElement.GetProperty("pid").GetInt32();
        var shimMb = Procs.RssMb(fn.Shim.Pid);
        var runtimeMb = Procs.RssMb(runtime);
        Assert.True(shimMb > 0 && runtimeMb > 0);
        // The runtime's own RSS with a margin for its GC between the sample and now, and well under runtime + shim.
        Assert.True(result.MaxMemoryUsedMb <= runtimeMb + (shimMb / 2),
            $"Max Memory Used {result.MaxMemoryUsedMb} MB, runtime {runtimeMb} MB, shim {shimMb} MB");
    }

    private static string ReadyFile() => Path.Combine(Path.GetTempPath(), "fnop-orphan-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>Live processes one of whose arguments contains <paramref name="text"/>.</summary>
    internal static List<int> WithArgument(string text)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                if (Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(dir, "cmdline"))).Contains(text, StringComparison.Ordinal) && Procs.Alive(pid))
                {
                    pids.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return pids;
    }
}
