using System.Globalization;
using FnOperator.RuntimeShim;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The sampler's accounting on a fake /proc and cgroup v2 tree (its directories are the seam): what counts as the function's
/// memory in a pod (the shim PID 1) and in local mode, the watchdog at the memory size in both, and the kernel's OOM kill
/// as the cgroup-mode backstop.
/// </summary>
public sealed class MemorySamplerTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "fnop-memtree-" + Guid.NewGuid().ToString("N")[..12]);

    private string Proc => Path.Combine(_root, "proc");

    private string Cgroup => Path.Combine(_root, "cgroup");

    public MemorySamplerTests()
    {
        Directory.CreateDirectory(Proc);
        Directory.CreateDirectory(Cgroup);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>
    /// A pod as the shim sees it: the shim (PID 1, 20 MiB) with the runtime (7, forked by the shim's launcher thread 2) and
    /// its child (9), and an orphan (12) the kernel re-parented to the shim's main thread.
    /// </summary>
    private void Pod(long runtimeMiB = 50)
    {
        Process(1, 20 * MiB, threads: [1, 2, 3], children: [[12], [7], []]);
        Process(7, runtimeMiB * MiB, threads: [7, 8], children: [[], [9]]);
        Process(9, 10 * MiB);
        Process(12, 5 * MiB);
        File.WriteAllText(Path.Combine(Cgroup, "memory.current"), (400 * MiB).ToString(CultureInfo.InvariantCulture) + "\n");
        OomKills(0);
    }

    [Fact]
    public void In_a_pod_max_memory_used_is_the_runtime_tree_and_its_orphans_without_the_shim_or_the_cgroup_total()
    {
        Pod();
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "auto");
        Assert.True(sampler.UsesCgroup);

        sampler.Track(7);
        sampler.Pause();

        Assert.Equal(50 + 10 + 5, sampler.PeakMb());
    }

    [Fact]
    public void Hosted_in_process_without_a_keeper_the_hosts_other_children_are_not_counted()
    {
        // The host (1) with the runtime (7, under its launcher thread 2) and, under its main thread, 12: a process the host
        // started from a thread that has since ended (another instance's runtime, say), not an orphan of this runtime.
        Pod();
        using var hosted = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "proc") { InProcess = true };
        using var shim = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "proc");

        hosted.Track(7);
        hosted.Pause();
        shim.Track(7);
        shim.Pause();

        Assert.Equal((50 + 10, 50 + 10 + 5), (hosted.PeakMb(), shim.PeakMb()));
    }

    [Fact]
    public void The_peak_is_kept_after_the_runtime_shrinks_and_a_watch_sees_the_growth_during_its_invocation()
    {
        Pod(runtimeMiB: 50);
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "cgroup");
        sampler.Track(7);
        sampler.Pause();

        sampler.Resume();
        var watch = sampler.BeginWatch();
        Process(7, 90 * MiB, threads: [7, 8], children: [[], [9]]);
        sampler.SampleNow(); // what the 50 ms timer does
        var during = sampler.EndWatch(watch);
        Process(7, 30 * MiB, threads: [7, 8], children: [[], [9]]);
        sampler.Pause();

        Assert.Equal(90 + 10 + 5, during);
        Assert.Equal(90 + 10 + 5, sampler.PeakMb());
    }

    [Fact]
    public void In_cgroup_mode_the_watchdog_stops_the_runtime_once_the_function_is_over_its_memory_size()
    {
        Pod(runtimeMiB: 50);
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "cgroup");
        var kills = 0;

        // 65 MiB of function (the shim's 20 and the cgroup's 400 not counted): under a 128 MiB size, nothing happens.
        sampler.Track(7, 128 * MiB, () => Interlocked.Increment(ref kills));
        sampler.Pause();
        Assert.Equal(0, Volatile.Read(ref kills));
        Assert.False(sampler.LimitReached);

        // 129 + 10 + 5 MiB: over the size, the kill action runs once however many samples follow.
        Process(7, 129 * MiB, threads: [7, 8], children: [[], [9]]);
        sampler.Resume();
        sampler.Pause();
        sampler.Resume();
        sampler.Pause();

        Assert.Equal(1, Volatile.Read(ref kills));
        Assert.True(sampler.LimitReached);
    }

    [Fact]
    public void A_runtime_just_under_its_size_is_not_stopped_though_the_shim_and_the_cgroup_would_put_it_over()
    {
        Pod(runtimeMiB: 112); // 112 + 10 + 5 = 127 MiB of function, 147 with the shim's 20
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "cgroup");
        var kills = 0;

        sampler.Track(7, 128 * MiB, () => Interlocked.Increment(ref kills));
        sampler.Pause();

        Assert.Equal(0, Volatile.Read(ref kills));
        Assert.False(sampler.LimitReached);
        Assert.Equal(127, sampler.PeakMb());
    }

    [Fact]
    public void A_kernel_oom_kill_in_the_container_cgroup_after_the_runtime_started_marks_the_limit_reached()
    {
        Pod();
        OomKills(3); // earlier runtimes' kills do not count
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "cgroup");
        sampler.Track(7, 128 * MiB, () => { });
        sampler.Pause();
        Assert.False(sampler.LimitReached);

        OomKills(4);

        Assert.True(sampler.LimitReached);
    }

    [Fact]
    public void In_local_mode_the_cgroup_is_not_read_and_the_same_sandbox_is_measured()
    {
        Pod();
        OomKills(0);
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "proc");
        Assert.False(sampler.UsesCgroup);
        sampler.Track(7, 128 * MiB, () => { });
        sampler.Pause();

        OomKills(1);

        Assert.False(sampler.LimitReached);
        Assert.Equal(65, sampler.PeakMb());
    }

    [Fact]
    public void Auto_reads_the_cgroup_only_when_the_shim_is_pid_1_and_cgroup_v2_memory_events_exist()
    {
        Pod();
        using (var notPid1 = new MemorySampler(Proc, Cgroup, selfPid: 4242, source: "auto"))
        {
            Assert.False(notPid1.UsesCgroup);
        }

        File.Delete(Path.Combine(Cgroup, "memory.events"));
        using var noEvents = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "cgroup");
        Assert.False(noEvents.UsesCgroup);
    }

    [Fact]
    public void Without_children_files_the_runtime_itself_is_still_measured()
    {
        Process(1, 20 * MiB);
        Process(7, 50 * MiB);
        Directory.Delete(Path.Combine(Proc, "1", "task"), recursive: true);
        Directory.Delete(Path.Combine(Proc, "7", "task"), recursive: true);
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "proc");

        sampler.Track(7);
        sampler.Pause();

        Assert.Equal(50, sampler.PeakMb());
    }

    [Fact]
    public void A_process_listed_twice_or_a_loop_in_the_children_files_counts_once()
    {
        Process(1, 20 * MiB, threads: [1], children: [[7, 7]]);
        Process(7, 50 * MiB, threads: [7], children: [[9, 1]]);
        Process(9, 10 * MiB, threads: [9], children: [[7]]);
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "proc");

        sampler.Track(7);
        sampler.Pause();

        Assert.Equal(60, sampler.PeakMb());
    }

    [Fact]
    public async Task Real_processes_are_measured_from_proc_without_the_process_standing_for_the_shim()
    {
        // `sh` stands for the shim (this test host has other tests' children), one sleep for the runtime, one for an orphan.
        using var shim = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", "-c \"sleep 120 & sleep 121 & wait\"") { UseShellExecute = false })!;
        try
        {
            var children = new List<int>();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (children.Count < 2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
                children = File.ReadAllText($"/proc/{shim.Id}/task/{shim.Id}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
            }

            Assert.Equal(2, children.Count);
            using var sampler = new MemorySampler("/proc", Cgroup, shim.Id, "proc");
            var expected = MemorySampler.TreeRss(children[0]) + MemorySampler.TreeRss(children[1]);

            var measured = sampler.SandboxRss(children[0]);

            Assert.True(expected > 0);
            Assert.Equal(expected, measured);
            Assert.True(MemorySampler.TreeRss(shim.Id) > measured, "the stand-in shim's own RSS is not counted");
        }
        finally
        {
            shim.Kill(entireProcessTree: true);
            await shim.WaitForExitAsync();
        }
    }

    [Fact]
    public void A_child_forked_and_a_thread_started_after_the_first_sample_are_counted_at_the_next_one()
    {
        // The sampler keeps the tree's /proc files open between samples; what changed since must still be seen.
        Process(1, 20 * MiB, threads: [1, 2], children: [[], [7]]);
        Process(7, 50 * MiB, threads: [7], children: [[]]);
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "proc");
        sampler.Track(7);
        sampler.Pause();
        Assert.Equal(50, sampler.PeakMb());

        // The runtime forks 9 from its main thread; a new thread 8 forks 10, which forks 11; an orphan 12 lands on the shim.
        Process(9, 10 * MiB);
        Process(10, 4 * MiB, threads: [10], children: [[11]]);
        Process(11, 2 * MiB);
        Process(12, 1 * MiB);
        Process(7, 60 * MiB, threads: [7, 8], children: [[9], [10]]);
        Process(1, 20 * MiB, threads: [1, 2], children: [[12], [7]]);
        sampler.SampleNow();
        Assert.Equal(60 + 10 + 4 + 2 + 1, sampler.PeakMb());

        // 9 and 10 exit (their parent no longer lists them) and the runtime shrinks: the peak stays, the next sample is smaller.
        Process(7, 40 * MiB, threads: [7, 8], children: [[], []]);
        var watch = sampler.BeginWatch();
        sampler.SampleNow();
        Assert.Equal(77, sampler.PeakMb());
        Assert.Equal(77, sampler.EndWatch(watch)); // the watch began at the previous sample's 77
        var later = sampler.BeginWatch();
        Process(7, 30 * MiB, threads: [7, 8], children: [[], []]);
        sampler.SampleNow();
        Assert.Equal(41, sampler.EndWatch(later));
    }

    [Fact]
    public async Task A_process_that_left_the_tree_is_no_longer_counted_and_its_proc_files_are_closed()
    {
        // `sh` stands for the shim, one sleep for the runtime, one for an orphan that then exits.
        using var shim = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", "-c \"sleep 120 & sleep 121 & wait\"") { UseShellExecute = false })!;
        try
        {
            var children = await ChildrenAsync(shim.Id, count: 2);
            using var sampler = new MemorySampler("/proc", Cgroup, shim.Id, "proc");
            Assert.Equal(MemorySampler.TreeRss(children[0]) + MemorySampler.TreeRss(children[1]), sampler.SandboxRss(children[0]));
            Assert.Contains(OpenProcFiles(), path => path.StartsWith($"/proc/{children[1]}/", StringComparison.Ordinal));

            System.Diagnostics.Process.GetProcessById(children[1]).Kill();
            await ChildrenAsync(shim.Id, count: 1); // sh reaped it

            Assert.Equal(MemorySampler.TreeRss(children[0]), sampler.SandboxRss(children[0]));
            Assert.DoesNotContain(OpenProcFiles(), path => path.StartsWith($"/proc/{children[1]}/", StringComparison.Ordinal));
        }
        finally
        {
            shim.Kill(entireProcessTree: true);
            await shim.WaitForExitAsync();
        }
    }

    [Fact]
    public void With_no_new_pid_since_the_last_walk_a_sample_still_sees_each_member_grow_and_a_member_that_exited_leave()
    {
        // The sample after a walk reads only the members' statm while the namespace's last pid (loadavg) stays put.
        Pod(runtimeMiB: 50);
        LastPid(100);
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "proc");
        sampler.Track(7);
        sampler.Pause(); // as every test here: the 50 ms timer's ticks must not sample this fake /proc while it is rewritten
        Assert.Equal(65, sampler.PeakMb());

        // The runtime's child grows, then the orphan exits (its statm is gone, its parent no longer lists it).
        Process(9, 30 * MiB);
        var watch = sampler.BeginWatch();
        sampler.SampleNow();
        Assert.Equal(50 + 30 + 5, sampler.EndWatch(watch));

        File.WriteAllText(Path.Combine(Proc, "12", "statm"), ""); // an exited process's open statm reads nothing (procfs: ESRCH)
        Directory.Delete(Path.Combine(Proc, "12"), recursive: true);
        Process(1, 20 * MiB, threads: [1, 2, 3], children: [[], [7], []]);
        Process(7, 20 * MiB, threads: [7, 8], children: [[], [9]]);
        var later = sampler.BeginWatch();
        sampler.SampleNow();
        var after = sampler.BeginWatch();
        Assert.Equal(85, sampler.EndWatch(later)); // began at the previous sample
        sampler.SampleNow();
        Assert.Equal(20 + 30, sampler.EndWatch(after));
    }

    [Fact]
    public void A_process_forked_after_a_walk_is_counted_at_the_next_sample_once_the_last_pid_moved()
    {
        Process(1, 20 * MiB, threads: [1, 2], children: [[], [7]]);
        Process(7, 50 * MiB, threads: [7], children: [[]]);
        LastPid(100);
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "proc");
        sampler.Track(7);
        sampler.Pause();
        Assert.Equal(50, sampler.PeakMb());

        // The runtime forks 101 (the last pid moves to it), which then leaves an orphan... as the kernel would show it.
        Process(101, 40 * MiB);
        Process(7, 50 * MiB, threads: [7], children: [[101]]);
        LastPid(101);
        sampler.SampleNow();
        Assert.Equal(90, sampler.PeakMb());
    }

    [Fact]
    public void The_watchdog_fires_on_a_sample_that_needs_no_walk()
    {
        Pod(runtimeMiB: 50);
        LastPid(100);
        var stopped = 0;
        using var sampler = new MemorySampler(Proc, Cgroup, selfPid: 1, source: "proc");
        sampler.Track(7, limitBytes: 128 * MiB, onLimit: () => Interlocked.Increment(ref stopped));
        sampler.Pause(); // no tick may sample the fake /proc mid-rewrite (a walk missing a member would make the next sample short of it)
        sampler.SampleNow();
        Assert.Equal(0, stopped);

        Process(7, 120 * MiB, threads: [7, 8], children: [[], [9]]); // 120 + 10 + 5 > 128
        sampler.SampleNow();

        Assert.Equal(1, stopped);
        Assert.True(sampler.LimitReached);
    }

    [Fact]
    public async Task A_real_child_that_lives_only_inside_an_invocation_is_in_its_peak()
    {
        // `sh` stands for the shim, its child python for the runtime; the runtime forks a child holding ~64 MiB, which ends
        // before the invocation does. The samples before the child existed must not make the one while it lives miss it.
        // The runtime (python) forks nothing while it waits, so only the child's fork moves the namespace's last pid.
        var flag = Path.Combine(_root, "go");
        var runtimeScript = Path.Combine(_root, "runtime.py");
        File.WriteAllText(runtimeScript, $"""
            import os, time
            while not os.path.exists({System.Text.Json.JsonSerializer.Serialize(flag)}):
                time.sleep(0.05)
            pid = os.fork()
            if pid == 0:
                b = b"\x01" * (64 * 1024 * 1024)
                time.sleep(120)
                os._exit(0)
            os.waitpid(pid, 0)
            time.sleep(120)
            """);
        using var shim = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", ["-c", $"python3 {runtimeScript} & wait"]) { UseShellExecute = false })!;
        try
        {
            var runtime = (await ChildrenAsync(shim.Id, count: 1))[0];
            using var sampler = new MemorySampler("/proc", Cgroup, shim.Id, "proc");
            sampler.Track(runtime);
            sampler.Pause();
            var before = sampler.PeakMb();
            Assert.True(before < 32, $"the runtime alone is small ({before} MB)");

            sampler.Resume(); // the invocation starts
            var watch = sampler.BeginWatch();
            sampler.SampleNow();
            File.WriteAllText(flag, "");
            var child = 0;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                if (File.ReadAllText($"/proc/{runtime}/task/{runtime}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var pid]
                    && MemorySampler.TreeRss(int.Parse(pid, CultureInfo.InvariantCulture)) > 64 * MiB)
                {
                    child = int.Parse(pid, CultureInfo.InvariantCulture);
                    break;
                }

                await Task.Delay(50);
            }

            Assert.NotEqual(0, child);
            sampler.SampleNow(); // the 50 ms tick while the child lives
            System.Diagnostics.Process.GetProcessById(child).Kill();
            var reaped = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (Directory.Exists($"/proc/{child}") && DateTime.UtcNow < reaped)
            {
                await Task.Delay(50);
            }

            Assert.False(Directory.Exists($"/proc/{child}"), "the runtime reaped its child");
            sampler.Pause(); // the runtime polls `GET next` again

            var peak = sampler.EndWatch(watch);
            Assert.True(peak >= 64, $"the invocation's peak includes the child ({peak} MB)");
            Assert.True(sampler.SandboxRss(runtime) < 32 * MiB, "the child is no longer counted once it ended");
        }
        finally
        {
            shim.Kill(entireProcessTree: true);
            await shim.WaitForExitAsync();
        }
    }

    private void LastPid(int pid) =>
        File.WriteAllText(Path.Combine(Proc, "loadavg"), $"0.50 0.40 0.30 2/345 {pid.ToString(CultureInfo.InvariantCulture)}\n");

    private static async Task<List<int>> ChildrenAsync(int pid, int count)
    {
        var children = new List<int>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (children.Count != count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        }

        Assert.Equal(count, children.Count);
        return children;
    }

    /// <summary>What this test process's descriptors point at.</summary>
    private static List<string> OpenProcFiles()
    {
        var paths = new List<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target)
                {
                    paths.Add(target);
                }
            }
            catch (IOException)
            {
                // Closed while listed.
            }
        }

        return paths;
    }

    private void OomKills(long count) =>
        File.WriteAllText(Path.Combine(Cgroup, "memory.events"), $"low 0\nhigh 0\nmax 2\noom 1\noom_kill {count.ToString(CultureInfo.InvariantCulture)}\noom_group_kill 0\n");

    /// <summary>/proc/&lt;pid&gt;/statm (sizes in pages, RSS the second field) and /proc/&lt;pid&gt;/task/&lt;tid&gt;/children.</summary>
    private void Process(int pid, long rssBytes, int[]? threads = null, int[][]? children = null)
    {
        var dir = Path.Combine(Proc, pid.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        var pages = rssBytes / Environment.SystemPageSize;
        File.WriteAllText(Path.Combine(dir, "statm"), $"{pages * 3} {pages} 100 10 0 {pages} 0\n");
        threads ??= [pid];
        for (var i = 0; i < threads.Length; i++)
        {
            var task = Path.Combine(dir, "task", threads[i].ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(task);
            var list = children is not null && i < children.Length ? children[i] : [];
            File.WriteAllText(Path.Combine(task, "children"), string.Concat(list.Select(c => c.ToString(CultureInfo.InvariantCulture) + " ")));
        }
    }
}
