using System.Diagnostics;
using System.Globalization;

namespace FnOperator.RuntimeShim;

/// <summary>
/// Measures the function's memory for REPORT's "Max Memory Used" and enforces its memory size (the RSS watchdog), the same
/// way in a pod and in local mode: the summed resident memory (/proc/&lt;pid&gt;/statm) of every process in the shim's
/// sandbox except the shim itself, i.e. the tracked runtime's process tree plus any orphan re-parented to the shim (it is a
/// child subreaper: a double-forked or <c>setsid</c> child of the runtime lands there). The shim's own memory is never
/// counted, as Lambda reports the function's memory only. Sampled every 50 ms while the runtime works (init, an
/// invocation), once more when it goes idle, and not at all while it waits in `GET next` (an idle instance costs no CPU);
/// the peak is kept for the runtime's lifetime, as Lambda's figure is for its execution environment.
/// With a limit (the function's memory size) a sample over it calls the tracked runtime's kill action at once, in both
/// modes. In cgroup mode (a pod, the shim PID 1) the container's cgroup is not what is measured — it also holds the shim's
/// own share and page cache (e.g. /tmp writes, which Lambda sizes apart as ephemeral storage) — it is only the kernel's
/// backstop at memoryMiB + the shim's share: an increase of <c>memory.events</c> <c>oom_kill</c> marks the same
/// Runtime.OutOfMemory error. docs/runtime-shim.md ("Memory").
/// </summary>
public sealed class MemorySampler : IDisposable
{
    /// <summary>Bound on the processes one sample visits (a fork bomb is not walked for ever).</summary>
    public const int MaxProcesses = 4096;

    private readonly string _procRoot;
    private readonly string _cgroupEvents;
    private readonly int _selfPid;
    private readonly bool _useCgroup;
    private readonly Timer _timer;
    private int _rootPid;
    private long _peakBytes;
    private long _lastSample;
    private long _limitBytes;
    private long _oomKillsAtStart;
    private Action? _onLimit;
    private int _limitHit;
    private int _busy;
    private long _lastBytes;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<MemoryWatch, byte> _watches = new();
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>The peak over one invocation's time (concurrency: REPORT's Max Memory Used is the process's peak while it ran).</summary>
    public sealed class MemoryWatch
    {
        internal long PeakBytes;

        internal void Observe(long bytes)
        {
            long current;
            while (bytes > (current = Interlocked.Read(ref PeakBytes)) && Interlocked.CompareExchange(ref PeakBytes, bytes, current) != current)
            {
            }
        }
    }

    /// <summary>Starts a <see cref="MemoryWatch"/> at the latest sample; every later sample raises its peak until <see cref="EndWatch"/>.</summary>
    public MemoryWatch BeginWatch()
    {
        var watch = new MemoryWatch { PeakBytes = Interlocked.Read(ref _lastBytes) };
        _watches[watch] = 0;
        return watch;
    }

    /// <summary>Ends a watch (sampling first unless a sample is under 20 ms old) and returns its peak in MB, rounded up.</summary>
    public int EndWatch(MemoryWatch watch)
    {
        SampleUnlessFresh();

        _watches.TryRemove(watch, out _);
        return (int)Math.Ceiling(Interlocked.Read(ref watch.PeakBytes) / (1024.0 * 1024.0));
    }

    public MemorySampler(ShimOptions options)
        : this("/proc", "/sys/fs/cgroup", Environment.ProcessId, (options ?? throw new ArgumentNullException(nameof(options))).MemorySource)
    {
    }

    /// <summary>
    /// A sampler over the given /proc and cgroup (v2) directories, for the shim whose pid is <paramref name="selfPid"/>.
    /// <paramref name="source"/>: "proc" ignores the cgroup, "cgroup" reads its <c>memory.events</c> when present, "auto"
    /// does so when the shim is PID 1 (its container's first process).
    /// </summary>
    internal MemorySampler(string procRoot, string cgroupRoot, int selfPid, string source)
    {
        _procRoot = procRoot;
        _cgroupEvents = Path.Combine(cgroupRoot, "memory.events");
        _selfPid = selfPid;
        _useCgroup = source switch
        {
            "cgroup" => File.Exists(_cgroupEvents),
            "proc" => false,
            _ => selfPid == 1 && File.Exists(_cgroupEvents),
        };
        _timer = new Timer(_ => Sample(), null, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>True when the kernel's OOM kills in the container's cgroup are watched (cgroup mode).</summary>
    public bool UsesCgroup => _useCgroup;

    /// <summary>
    /// Starts measuring a new runtime process (resets the peak). With <paramref name="limitBytes"/>, a sample over it calls
    /// <paramref name="onLimit"/> once (the watchdog kills the runtime there).
    /// </summary>
    public void Track(int rootPid, long limitBytes = 0, Action? onLimit = null)
    {
        Volatile.Write(ref _onLimit, onLimit);
        Interlocked.Exchange(ref _limitBytes, limitBytes);
        Interlocked.Exchange(ref _limitHit, 0);
        Interlocked.Exchange(ref _oomKillsAtStart, _useCgroup ? OomKills() : 0);
        Volatile.Write(ref _rootPid, rootPid);
        Interlocked.Exchange(ref _peakBytes, 0);
        Interlocked.Exchange(ref _lastBytes, 0);
        Interlocked.Exchange(ref _lastSample, 0); // a new runtime: its first sample at once
        Interlocked.Exchange(ref _busy, 0);
        Resume();
    }

    /// <summary>
    /// The runtime started work (init or an invocation): sample every 50 ms until <see cref="Pause"/>. The first sample
    /// comes when the last one is 50 ms old, not at once: back-to-back invocations would otherwise walk /proc at every
    /// start (the previous invocation's end sample is the baseline; issue #19's profile: ~15 % of a busy shim's CPU).
    /// </summary>
    public void Resume()
    {
        if (Interlocked.Increment(ref _busy) == 1)
        {
            var age = Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastSample));
            _timer.Change(age >= Interval ? TimeSpan.Zero : Interval - age, Interval);
        }
    }

    /// <summary>The runtime is idle (it polled `GET next`): one sample for the peak, then no timer until <see cref="Resume"/>.</summary>
    public void Pause()
    {
        // Never below zero: a runtime re-polling `GET next` (an aborted long poll) pauses an already idle sampler.
        int busy;
        do
        {
            busy = Volatile.Read(ref _busy);
            if (busy <= 0)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _busy, busy - 1, busy) != busy);

        if (busy == 1)
        {
            _timer.Change(Timeout.Infinite, Timeout.Infinite);
            Sample();
        }
    }

    /// <summary>True when the tracked runtime reached its memory limit: the watchdog fired, or (cgroup mode) the kernel's OOM killer did.</summary>
    public bool LimitReached =>
        Volatile.Read(ref _limitHit) != 0 || (_useCgroup && OomKills() > Interlocked.Read(ref _oomKillsAtStart));

    /// <summary>Returns the peak so far in MB (rounded up), sampling first unless a sample is under 20 ms old.</summary>
    public int PeakMb()
    {
        SampleUnlessFresh();

        var peak = Interlocked.Read(ref _peakBytes);
        return (int)Math.Ceiling(peak / (1024.0 * 1024.0));
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>Samples now unless the last sample is under 20 ms old.</summary>
    private void SampleUnlessFresh()
    {
        if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastSample)) > TimeSpan.FromMilliseconds(20))
        {
            Sample();
        }
    }

    /// <summary>One sample now, whatever the age of the last (the 50 ms timer's work, for a caller that changed what is measured).</summary>
    internal void SampleNow() => Sample();

    private void Sample()
    {
        var pid = Volatile.Read(ref _rootPid);
        if (pid <= 0)
        {
            return;
        }

        var bytes = SandboxRss(pid);
        Interlocked.Exchange(ref _lastSample, Stopwatch.GetTimestamp());
        Interlocked.Exchange(ref _lastBytes, bytes);
        if (!_watches.IsEmpty)
        {
            foreach (var watch in _watches.Keys)
            {
                watch.Observe(bytes);
            }
        }

        long current;
        while (bytes > (current = Interlocked.Read(ref _peakBytes)) && Interlocked.CompareExchange(ref _peakBytes, bytes, current) != current)
        {
        }

        var limit = Interlocked.Read(ref _limitBytes);
        if (limit > 0 && bytes > limit && Interlocked.Exchange(ref _limitHit, 1) == 0)
        {
            Volatile.Read(ref _onLimit)?.Invoke();
        }
    }

    private long OomKills()
    {
        try
        {
            foreach (var line in File.ReadLines(_cgroupEvents))
            {
                if (line.StartsWith("oom_kill ", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan("oom_kill ".Length), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
        }

        return 0;
    }

    /// <summary>
    /// The function's memory: resident memory summed over the runtime's tree and the other children of the shim (orphans
    /// the kernel re-parented to it, a subreaper), never the shim's own. Only the shim's main thread's children file is
    /// read: the kernel hands an orphan to the first live thread of the subreaper's thread group, its main thread
    /// (kernel/exit.c, find_new_reaper → find_alive_thread), while the runtime itself — forked by the shim's launcher
    /// thread, so listed under that thread — is added by pid. One sample reads one statm per process and one children
    /// file per thread of each process below the shim; at most <see cref="MaxProcesses"/> processes.
    /// </summary>
    internal long SandboxRss(int runtimePid)
    {
        var pending = new Stack<int>();
        var seen = new HashSet<int> { _selfPid };
        var self = _selfPid.ToString(CultureInfo.InvariantCulture);
        foreach (var child in ChildrenOfTask(Path.Combine(_procRoot, self, "task", self)))
        {
            pending.Push(child);
        }

        pending.Push(runtimePid); // counted even where the children files are missing (the kernel's CONFIG_PROC_CHILDREN)
        return Walk(_procRoot, pending, seen);
    }

    /// <summary>Sum of resident memory over a process and all its descendants (via /proc/&lt;pid&gt;/task/*/children).</summary>
    public static long TreeRss(int rootPid)
    {
        var pending = new Stack<int>();
        pending.Push(rootPid);
        return Walk("/proc", pending, []);
    }

    private static long Walk(string procRoot, Stack<int> pending, HashSet<int> seen)
    {
        long total = 0;
        var visited = 0;
        while (pending.Count > 0 && visited < MaxProcesses)
        {
            var pid = pending.Pop();
            if (!seen.Add(pid))
            {
                continue;
            }

            visited++;
            total += Rss(procRoot, pid);
            foreach (var child in Children(procRoot, pid))
            {
                pending.Push(child);
            }
        }

        return total;
    }

    private static long Rss(string procRoot, int pid)
    {
        try
        {
            var fields = File.ReadAllText(Path.Combine(procRoot, pid.ToString(CultureInfo.InvariantCulture), "statm")).Split(' ');
            return fields.Length > 1 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages)
                ? pages * Environment.SystemPageSize
                : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static IEnumerable<int> Children(string procRoot, int pid)
    {
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories(Path.Combine(procRoot, pid.ToString(CultureInfo.InvariantCulture), "task"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break;
        }

        foreach (var task in tasks)
        {
            foreach (var child in ChildrenOfTask(task))
            {
                yield return child;
            }
        }
    }

    private static IEnumerable<int> ChildrenOfTask(string task)
    {
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(task, "children"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break;
        }

        foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var child))
            {
                yield return child;
            }
        }
    }
}
