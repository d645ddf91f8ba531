using System.Globalization;
using FnOperator.RuntimeShim;
using FnOperator.RuntimeShim.Tests;

namespace FnOperator.Sandbox.Tests;

/// <summary>
/// The sandbox's group launcher (`runtime-shim sandbox-exec --`, the Native AOT shim's default instead of `setsid`): the
/// runtime gets its own process group, which the shim kills as a whole, no controlling terminal and no ignored signals,
/// and stays in the shim's session (so in its scheduling autogroup). Run here through the JIT-built shim DLL
/// (`dotnet FnOperator.RuntimeShim.dll sandbox-exec --`), the same code the AOT binary runs.
/// </summary>
public sealed class ProcessGroupLaunchTests
{
    private static readonly string[] Launcher = ["dotnet", Path.Combine(Repo.ShimDirectory, "FnOperator.RuntimeShim.dll"), "sandbox-exec", "--"];

    [Fact]
    public void Wrap_puts_the_group_launcher_after_setpriv_instead_of_setsid()
    {
        var (file, arguments, ownGroup) = new SandboxSettings { GroupLauncher = ["/opt/shim", "sandbox-exec", "--"] }.Wrap("node", ["index.mjs"]);

        var command = new[] { file }.Concat(arguments).ToList();
        Assert.Equal(["/opt/shim", "sandbox-exec", "--", "node", "index.mjs"], command[^5..]);
        Assert.DoesNotContain(RuntimeLaunch.SetsidPath, command);
        Assert.Equal(File.Exists(SandboxSettings.SetprivPath), command[0] == SandboxSettings.SetprivPath);
        Assert.True(ownGroup);
    }

    [Fact]
    public void The_jit_built_shim_has_no_group_launcher_and_falls_back_to_setsid()
    {
        // The test host is not the Native AOT shim: starting `dotnet` per runtime would cost more than setsid's new session.
        Assert.Null(SandboxSettings.DefaultGroupLauncher);
        var (file, arguments, _) = new SandboxSettings().Wrap("node", ["index.mjs"]);
        Assert.Equal(File.Exists(RuntimeLaunch.SetsidPath), new[] { file }.Concat(arguments).Contains(RuntimeLaunch.SetsidPath));
    }

    [Fact]
    public void A_hosting_process_uses_the_native_shim_its_environment_names_as_group_launcher_and_nothing_else()
    {
        // Local mode's in-process instances name the AOT shim (FNOP_SANDBOX_GROUP_LAUNCHER); the rule is the default's.
        var native = Path.Combine(Path.GetTempPath(), $"fnop-native-shim-{Guid.NewGuid():N}");
        File.WriteAllText(native, "");
        try
        {
            var autogroups = File.Exists(SandboxSettings.AutogroupSwitch) && File.ReadAllText(SandboxSettings.AutogroupSwitch).Trim() == "1"
                && Environment.ProcessId != 1;
            var named = SandboxSettings.From(new System.Collections.Hashtable { [SandboxSettings.GroupLauncherVariable] = native });
            if (autogroups)
            {
                Assert.Equal([native, "sandbox-exec", "--"], named.GroupLauncher!);
            }
            else
            {
                Assert.Null(named.GroupLauncher);
            }

            // A DLL (the JIT shim: a dotnet start per runtime), a relative path or a file that does not exist: the default.
            foreach (var other in new[] { native + ".dll", "FnOperator.RuntimeShim", native + "-missing", "" })
            {
                Assert.Null(SandboxSettings.From(new System.Collections.Hashtable { [SandboxSettings.GroupLauncherVariable] = other }).GroupLauncher);
            }
        }
        finally
        {
            File.Delete(native);
        }
    }

    [Fact]
    public async Task Group_launcher_gives_the_runtime_its_own_group_in_the_shims_session_without_a_terminal_or_ignored_signals()
    {
        var runtime = RuntimeInstance.Start("/bin/sh", ["-c", "exec sleep 600"], Env(), Path.GetTempPath(), new LogSink(TextWriter.Null),
            new SandboxSettings { GroupLauncher = Launcher });
        try
        {
            var pid = runtime.ProcessId;
            Assert.True(await Procs.EventuallyAsync(() => Comm(pid) == "sleep", TimeSpan.FromSeconds(60)), "the launch chain never reached sleep");

            var (group, session, tty) = Stat(pid);
            var (_, ownSession, _) = Stat(Environment.ProcessId);
            Assert.Equal(pid, group);
            Assert.Equal(ownSession, session);
            Assert.Equal(0, tty);
            Assert.Equal("0000000000000000", StatusLine(pid, "SigIgn:"));
            if (File.Exists("/proc/self/autogroup"))
            {
                Assert.Equal(Autogroup(Environment.ProcessId), Autogroup(pid));
            }
        }
        finally
        {
            await runtime.KillAsync(TimeSpan.Zero);
        }
    }

    [Fact]
    public async Task Killing_a_runtime_started_by_the_group_launcher_ends_every_process_of_its_group()
    {
        // The runtime and two children of its own (one backgrounded, one in the foreground of the shell).
        var runtime = RuntimeInstance.Start("/bin/sh", ["-c", "sleep 601 & sleep 602; wait"], Env(), Path.GetTempPath(), new LogSink(TextWriter.Null),
            new SandboxSettings { GroupLauncher = Launcher });
        var pid = runtime.ProcessId;
        List<int> children = [];
        Assert.True(await Procs.EventuallyAsync(() => (children = FnOperator.Sandboxing.ProcessTable.Children(pid)).Count == 2, TimeSpan.FromSeconds(60)),
            "the runtime never started its two children");
        Assert.All(children, child => Assert.Equal(pid, Stat(child).Group));

        await runtime.KillAsync(TimeSpan.FromSeconds(1));

        Assert.True(await Procs.EventuallyAsync(() => !Procs.Alive(pid) && children.All(c => !Procs.Alive(c)), TimeSpan.FromSeconds(60)),
            "a process of the runtime's group outlived the kill");
    }

    [Fact]
    public async Task A_shim_starts_its_runtime_as_the_leader_of_its_own_process_group()
    {
        await using var fn = await SandboxedShim.StartAsync();

        var result = await fn.InvokeAsync(new { action = "pid" });

        Assert.Equal(FnOperator.Contracts.InvocationOutcome.Success, result.Outcome);
        var pid = System.Text.Json.JsonDocument.Parse(result.Payload).RootElement.GetProperty("pid").GetInt32();
        var (group, session, _) = Stat(pid);
        Assert.Equal(pid, group);
        if (Environment.GetEnvironmentVariable("FNOP_TEST_SHIM") is not { Length: > 0 } && File.Exists(RuntimeLaunch.SetsidPath))
        {
            // The JIT-built shim (the default here) has no group launcher: setsid, a session of the runtime's own.
            Assert.Equal(pid, session);
        }
        else
        {
            // Another build (FNOP_TEST_SHIM, e.g. the Native AOT shim): its own session (setsid) or the shim's (sandbox-exec).
            Assert.Contains(session, new[] { pid, Stat(fn.Shim.Pid).Session });
        }
    }

    [Fact]
    public void Group_launcher_without_a_program_fails_as_a_shell_does()
    {
        using var launcher = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(Launcher[0], [.. Launcher[1..], "/nonexistent/runtime"])
        {
            RedirectStandardError = true,
        })!;
        var error = launcher.StandardError.ReadToEnd();
        launcher.WaitForExit();

        Assert.Equal(127, launcher.ExitCode);
        Assert.Contains("cannot run /nonexistent/runtime", error, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Env() => new() { ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin" };

    private static string? Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Process group, session and controlling terminal (tty_nr) from /proc/PID/stat.</summary>
    private static (int Group, int Session, int Tty) Stat(int pid)
    {
        var text = File.ReadAllText($"/proc/{pid}/stat");
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        int Field(int i) => int.Parse(fields[i], CultureInfo.InvariantCulture);
        return (Field(2), Field(3), Field(4)); // state ppid pgrp session tty_nr
    }

    private static string StatusLine(int pid, string name) =>
        File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(name, StringComparison.Ordinal))[name.Length..].Trim();

    private static string Autogroup(int pid) => File.ReadAllText($"/proc/{pid}/autogroup").Split(' ')[0];
}
