using System.Globalization;
using System.Text.Json;
using FnOperator.Gateway.Tests.Local;

namespace FnOperator.Sandbox.Tests;

/// <summary>
/// Local mode's in-process instances under their keepers (runtime-shim `keeper`, docs/local-mode.md "In-process
/// instances"): each runtime and what it detached (setsid, double fork) are one unit, as under a shim process, with the
/// hostile function's real node runtimes. What one function's runtime leaves dies with that runtime and no other; a
/// SIGKILLed local mode takes them all; an orphan's memory is its own function's.
/// </summary>
[Collection(LocalModeCollection.Name)]
public sealed class InProcessKeeperTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private static Task<LocalModeProcess> StartInProcessAsync(TempManifests manifests) =>
        LocalModeProcess.StartAsync(manifests.Root, new Dictionary<string, string>(), "--instances", "in-process");

    [Theory]
    [InlineData("crash")]
    [InlineData("timeout")]
    public async Task A_runtimes_end_kills_what_it_detached_and_leaves_another_functions_detached_processes_running(string end)
    {
        using var manifests = new TempManifests();
        HostileFunction.WriteManifest(manifests, "ending", timeoutSeconds: 3);
        HostileFunction.WriteManifest(manifests, "bystander");
        await using var local = await StartInProcessAsync(manifests);
        var mine = Random.Shared.Next(700_000, 749_999).ToString(CultureInfo.InvariantCulture);
        var theirs = Random.Shared.Next(750_000, 799_999).ToString(CultureInfo.InvariantCulture);

        await LocalModeSandboxTests.InvokeAsync(local, "bystander", new { action = "spawn", n = 1, secs = int.Parse(theirs, CultureInfo.InvariantCulture) });
        Assert.Equal(2, Procs.WithArgs("sleep", theirs).Count);
        var ended = await InstanceModes.InvokeAsync(
            local, "ending", JsonSerializer.Serialize(new { action = "spawn", n = 2, secs = int.Parse(mine, CultureInfo.InvariantCulture), crash = end == "crash", hang = end == "timeout" }));

        Assert.Equal(end == "crash" ? "Runtime.ExitError" : "Sandbox.Timedout", (string?)ended.Json["errorType"]);
        Assert.True(await Procs.EventuallyAsync(() => Procs.WithArgs("sleep", mine).Count == 0, Generous),
            $"{Procs.WithArgs("sleep", mine).Count} detached processes outlived their runtime\n{local.Output}");

        // The function's next runtime starts (the reset replaced the instance's runtime) and the other function's
        // detached processes were never touched.
        Assert.True((await InstanceModes.InvokeAsync(local, "ending", """{"action":"pid"}""")).Ok, local.Output);
        Assert.Equal(2, Procs.WithArgs("sleep", theirs).Count);
    }

    [Fact]
    public async Task Sigkill_of_local_mode_ends_what_its_in_process_runtimes_detached()
    {
        using var manifests = new TempManifests();
        HostileFunction.WriteManifest(manifests, "first");
        HostileFunction.WriteManifest(manifests, "second");
        var local = await StartInProcessAsync(manifests);
        await using (local)
        {
            var secs = Random.Shared.Next(600_000, 699_999);
            var arg = secs.ToString(CultureInfo.InvariantCulture);
            await LocalModeSandboxTests.InvokeAsync(local, "first", new { action = "spawn", n = 2, secs });
            await LocalModeSandboxTests.InvokeAsync(local, "second", new { action = "spawn", n = 1, secs });
            Assert.Equal(6, Procs.WithArgs("sleep", arg).Count);

            await local.KillAloneAsync(Generous);

            Assert.True(await Procs.EventuallyAsync(() => Procs.WithArgs("sleep", arg).Count == 0, Generous),
                $"{Procs.WithArgs("sleep", arg).Count} detached processes outlived the SIGKILLed local mode");
            Assert.Empty(await FunctionProcesses.WaitUntilAsync("first", p => p.Count == 0, Generous));
            Assert.Empty(await FunctionProcesses.WaitUntilAsync("second", p => p.Count == 0, Generous));
        }
    }

    [Fact]
    public async Task An_orphans_memory_counts_for_its_own_function_and_not_for_another_in_process_function()
    {
        using var manifests = new TempManifests();
        HostileFunction.WriteManifest(manifests, "holder", memoryMiB: 512, timeoutSeconds: 60);
        HostileFunction.WriteManifest(manifests, "small", memoryMiB: 128);
        HostileFunction.WriteManifest(manifests, "greedy", memoryMiB: 128, timeoutSeconds: 60);
        await using var local = await StartInProcessAsync(manifests);
        var ready = Path.Combine(manifests.SharedWritableFolder("ready"), "orphan-pid");

        var held = await InstanceModes.InvokeAsync(
            local, "holder", JsonSerializer.Serialize(new { action = "orphan-alloc", mb = 200, secs = 120, ready }), tail: true);
        Assert.True(held.Ok, $"{held}\n{local.Output}");
        var orphan = (int)held.Json["orphan"]!;

        // While the holder's 200 MB orphan lives, a small function's invocation neither counts it nor is killed for it.
        var small = await InstanceModes.InvokeAsync(local, "small", """{"action":"pid"}""", tail: true);
        Assert.True(Procs.Alive(orphan), "the orphan was gone before the other function ran");

        Assert.True(MaxMemoryUsed(held) >= 200, held.LogTail);
        Assert.True(small.Ok, $"{small}\n{local.Output}");
        Assert.True(MaxMemoryUsed(small) < 128, small.LogTail);

        // An orphan over its own function's memory size stops that function, as Lambda stops it, and dies with it.
        var greedyReady = Path.Combine(manifests.SharedWritableFolder("greedy-ready"), "orphan-pid");
        var greedy = await InstanceModes.InvokeAsync(
            local, "greedy", JsonSerializer.Serialize(new { action = "orphan-alloc", mb = 256, secs = 120, ready = greedyReady }));
        Assert.Equal("Runtime.OutOfMemory", (string?)greedy.Json["errorType"]);
        Assert.True(await Procs.EventuallyAsync(() => MemoryAccountingTests.WithArgument(greedyReady).Count == 0, Generous),
            "the greedy function's orphan outlived its memory kill");
        Assert.True(Procs.Alive(orphan), "the holder's orphan died with another function's runtime");
    }

    private static int MaxMemoryUsed(InstanceModes.Invoked invoked)
    {
        const string Label = "Max Memory Used: ";
        var log = invoked.LogTail ?? "";
        var at = log.IndexOf(Label, StringComparison.Ordinal);
        Assert.True(at >= 0, log);
        var digits = new string(log[(at + Label.Length)..].TakeWhile(char.IsAsciiDigit).ToArray());
        return int.Parse(digits, CultureInfo.InvariantCulture);
    }
}
