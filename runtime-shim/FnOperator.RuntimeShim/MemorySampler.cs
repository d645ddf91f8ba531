using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

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
    private readonly Lock _treeLock = new();
    private readonly Lock _timerLock = new();
    private bool _ticking; // the 50 ms timer is armed (guarded by _timerLock)
    private SandboxTree _tree;
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

    /// <summary>
    /// The shim is hosted in another process (local mode's in-process instances, tests): without a keeper only the
    /// runtime's own tree is counted, not the host's other children.
    /// </summary>
    public bool InProcess { get; init; }

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
        _timer = new Timer(static state => ((MemorySampler)state!).OnTick(), this, Timeout.Infinite, Timeout.Infinite);
        _tree = new SandboxTree(procRoot, selfPid);
    }

    /// <summary>True when the kernel's OOM kills in the container's cgroup are watched (cgroup mode).</summary>
    public bool UsesCgroup => _useCgroup;

    /// <summary>
    /// Called at every tick before the sample (InvocationRunner: LogSink.FlushDeferred, so a deferred START line goes out
    /// within one interval of a working runtime; issue #19). Must not block.
    /// </summary>
    internal Action? Ticked { get; set; }

    /// <summary>
    /// Starts measuring a new runtime process (resets the peak). With <paramref name="limitBytes"/>, a sample over it calls
    /// <paramref name="onLimit"/> once (the watchdog kills the runtime there). With <paramref name="rootIsKeeper"/> the
    /// root is the runtime's keeper (an in-process instance, <see cref="FnOperator.Sandboxing.Keeper"/>): the sandbox is
    /// the keeper's descendants (the runtime and its orphans, re-parented to the keeper) and never the keeper itself, as
    /// a shim process counts its own descendants and not itself; the hosting process's other children are not counted.
    /// </summary>
    public void Track(int rootPid, long limitBytes = 0, Action? onLimit = null, bool rootIsKeeper = false)
    {
        var self = rootIsKeeper ? rootPid : _selfPid;

        // Hosted in another process without a keeper, that process's main-thread children are not this runtime's orphans:
        // they are whatever the host started from threads that have since ended (the kernel re-parents a thread's children
        // to the main thread), other instances' runtimes among them.
        var orphans = rootIsKeeper || !InProcess;
        lock (_treeLock)
        {
            if (_tree.SelfPid != self || _tree.Orphans != orphans)
            {
                _tree.Dispose();
                _tree = new SandboxTree(_procRoot, self, orphans);
            }
        }

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
    /// <remarks>
    /// A timer already ticking is left as it is (issue #19): back-to-back invocations end and start again well within one
    /// interval, and re-arming the timer at every start woke the timer thread once per invocation. The tick after the
    /// runtime went idle stops the timer instead (<see cref="OnTick"/>), so an idle runtime has no timer either.
    /// </remarks>
    public void Resume()
    {
        if (Interlocked.Increment(ref _busy) == 1)
        {
            lock (_timerLock)
            {
                if (!_ticking)
                {
                    _ticking = true;
                    var age = Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastSample));
                    _timer.Change(age >= Interval ? TimeSpan.Zero : Interval - age, Interval);
                }
            }
        }
    }

    /// <summary>
    /// The 50 ms timer: a sample while the runtime works; at the first tick after it went idle the timer stops (nothing
    /// is sampled: <see cref="Pause"/> took the idle sample), until <see cref="Resume"/> starts it again.
    /// </summary>
    private void OnTick()
    {
        Ticked?.Invoke();
        if (Volatile.Read(ref _busy) > 0)
        {
            Sample();
            return;
        }

        lock (_timerLock)
        {
            // Busy again since the check above: Resume saw the timer ticking and left it so; it keeps ticking.
            if (Volatile.Read(ref _busy) == 0 && _ticking)
            {
                _timer.Change(Timeout.Infinite, Timeout.Infinite);
                _ticking = false;
            }
        }
    }

    /// <summary>The runtime is idle (it polled `GET next`): one sample for the peak; the timer stops at its next tick.</summary>
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

    public void Dispose()
    {
        _timer.Dispose();
        lock (_treeLock)
        {
            _tree.Dispose();
        }
    }

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
    /// file per thread of each process below the shim, kept open between samples (<see cref="SandboxTree"/>); at most
    /// <see cref="MaxProcesses"/> processes.
    /// </summary>
    internal long SandboxRss(int runtimePid)
    {
        lock (_treeLock)
        {
            return _tree.SandboxRss(runtimePid);
        }
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

/// <summary>
/// The sandbox's process tree as <see cref="MemorySampler"/> reads it, with its /proc files kept open between samples
/// (issue #19: the walk was ~15 % of a busy shim's CPU, one open/flock/read/close and a few allocations per file). Per
/// process it holds its <c>statm</c>, its <c>task</c> directory and each thread's <c>task/&lt;tid&gt;/children</c> open;
/// a sample re-reads them with <c>pread</c> at offset 0 (procfs regenerates the text on every read), so a sample of a node
/// runtime is one pread of statm, one <c>statx</c> of the task directory (its link count is 2 + the number of threads, so
/// a thread that appeared or ended is noticed at once and the thread list re-read) and one pread per thread's children,
/// with no path lookups and no allocations. The children are re-read at every sample, so a process forked since the last
/// sample is found then, as before. A descriptor of a process that has exited reads ESRCH (procfs binds it to that
/// process, never to a later one with the same pid): its entry is dropped and the pid opened afresh if it is listed again.
/// Processes no longer in the tree have their descriptors closed after the sample. At most <see cref="MaxCached"/>
/// processes are kept open; beyond that they are read by path, uncached. The thread list is also re-read at least
/// every <see cref="ThreadRelist"/> (a safety net for a file system that does not count links like procfs).
/// Not thread-safe: the sampler serialises samples.
/// </summary>
internal sealed partial class SandboxTree(string procRoot, int selfPid, bool orphans = true) : IDisposable
{
    /// <summary>Whether the children of <see cref="SelfPid"/>'s main thread (orphans re-parented to it) are counted.</summary>
    public bool Orphans => orphans;

    /// <summary>The process whose orphans (its main thread's children) are counted and whose own memory is not.</summary>
    public int SelfPid => selfPid;

    /// <summary>Processes whose files stay open between samples (a runtime's tree is a few; a fork bomb is read uncached).</summary>
    internal const int MaxCached = 64;

    private static readonly long ThreadRelist = Stopwatch.Frequency; // 1 s
    private const int ORdonly = 0;
    private const int ODirectory = 0x10000;
    private const int OCloexec = 0x80000;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxNlink = 0x4;

    private readonly Dictionary<int, Entry> _entries = [];
    private readonly Stack<int> _pending = new();
    private readonly HashSet<int> _seen = [];
    private readonly List<int> _gone = [];
    private byte[] _buffer = new byte[4096];
    private int _selfChildren = -2; // -2: not opened yet, -1: missing
    private int _loadavg = -2; // /proc/loadavg (its last field: the pid namespace's last allocated pid); -2: not opened yet, -1: missing
    private long _generation;
    private bool _disposed;

    // The last full walk, for the short sample (see SandboxRss): its root, whether every process it counted is in
    // _entries, the namespace's last pid read just before it, and when it ran.
    private int _walkRoot;
    private bool _walkComplete;
    private long _walkLastPid = -1;
    private long _walkAt;

    private sealed class Entry
    {
        public int Statm = -1;
        public int TaskDir = -1;
        public uint TaskLinks;
        public long ListedAt;
        public long Generation;
        public readonly List<(int Tid, int Fd)> Threads = [];
    }

    /// <summary>
    /// Summed RSS of <paramref name="runtimePid"/>'s tree and the other children of the shim's main thread (orphans), never the shim's.
    /// </summary>
    /// <remarks>
    /// The short sample (issue #19: the walk was one pread per thread of every process, ~14 system calls per invocation for a
    /// node runtime): the tree can only gain a member through a new pid — a fork, or a thread whose children file would have
    /// to be read — and every new pid moves the pid namespace's last allocated pid, the last field of <c>/proc/loadavg</c>
    /// (the reader's namespace, which holds the sandbox's processes; a fork in a nested namespace allocates a pid in ours
    /// too). So when that pid is the one read just before the last full walk, the walk counted every process in the sandbox,
    /// and each of them is still open here, a sample is one pread of <c>/proc/loadavg</c> plus one of each member's
    /// <c>statm</c>: a member that left (exited) reads ESRCH and a full walk follows at once; an orphan re-parented to the
    /// shim was a member already. Any other process created on the machine (local mode) just makes the next sample a full
    /// walk, as before; so does a missing <c>loadavg</c> (a fake /proc in tests), a tree with uncached members, and a walk
    /// over <see cref="ThreadRelist"/> old (a safety net, e.g. for a pid counter that wrapped round to the same value).
    /// </remarks>
    public long SandboxRss(int runtimePid)
    {
        if (_disposed)
        {
            return 0;
        }

        var lastPid = LastPid();
        if (lastPid >= 0 && lastPid == _walkLastPid && _walkComplete && runtimePid == _walkRoot
            && Stopwatch.GetTimestamp() - _walkAt <= ThreadRelist && ShortSample() is var quick and >= 0)
        {
            return quick;
        }

        var total = Walk(runtimePid);
        _walkRoot = runtimePid;
        _walkLastPid = lastPid;
        _walkAt = Stopwatch.GetTimestamp();
        return total;
    }

    /// <summary>The members' statm only (see <see cref="SandboxRss"/>); -1 when one of them is gone (a full walk is due).</summary>
    private long ShortSample()
    {
        long total = 0;
        foreach (var entry in _entries.Values)
        {
            var rss = Rss(entry.Statm);
            if (rss < 0)
            {
                return -1;
            }

            total += rss;
        }

        return total;
    }

    /// <summary>The last field of /proc/loadavg (the most recently allocated pid in this pid namespace), or -1.</summary>
    private long LastPid()
    {
        if (_loadavg == -2)
        {
            _loadavg = Open(Path.Combine(procRoot, "loadavg"), 0);
        }

        if (_loadavg < 0)
        {
            return -1;
        }

        var length = ReadAll(_loadavg, oneLine: true);
        if (length <= 0)
        {
            return -1;
        }

        var text = _buffer.AsSpan(0, length).TrimEnd((byte)'\n');
        var space = text.LastIndexOf((byte)' ');
        return space >= 0 && long.TryParse(text[(space + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : -1;
    }

    private long Walk(int runtimePid)
    {
        var generation = ++_generation;
        _pending.Clear();
        _seen.Clear();
        _seen.Add(selfPid);
        if (_selfChildren == -2 && orphans)
        {
            var self = selfPid.ToString(CultureInfo.InvariantCulture);
            _selfChildren = Open(Path.Combine(procRoot, self, "task", self, "children"), 0);
        }

        if (_selfChildren >= 0)
        {
            PushChildren(_selfChildren);
        }

        _pending.Push(runtimePid); // counted even where the children files are missing (the kernel's CONFIG_PROC_CHILDREN)
        long total = 0;
        var visited = 0;
        while (_pending.Count > 0 && visited < MemorySampler.MaxProcesses)
        {
            var pid = _pending.Pop();
            if (!_seen.Add(pid))
            {
                continue;
            }

            visited++;
            total += Visit(pid, generation);
        }

        foreach (var (pid, entry) in _entries)
        {
            if (entry.Generation != generation)
            {
                _gone.Add(pid);
            }
        }

        foreach (var pid in _gone)
        {
            Close(_entries[pid]);
            _entries.Remove(pid);
        }

        _gone.Clear();
        _walkComplete = visited < MemorySampler.MaxProcesses && _pending.Count == 0 && _entries.Count == visited;
        return total;
    }

    /// <summary>One process: its RSS, and its children pushed for the walk.</summary>
    private long Visit(int pid, long generation)
    {
        if (_entries.TryGetValue(pid, out var entry))
        {
            var rss = Rss(entry.Statm);
            if (rss < 0)
            {
                // Exited since the last sample (or a new process now has its pid): drop it, and read the pid afresh.
                Close(entry);
                _entries.Remove(pid);
                entry = null;
            }
            else
            {
                entry.Generation = generation;
                RefreshThreads(pid, entry);
                foreach (var (_, fd) in entry.Threads)
                {
                    PushChildren(fd);
                }

                return rss;
            }
        }

        var dir = Path.Combine(procRoot, pid.ToString(CultureInfo.InvariantCulture));
        var statm = Open(Path.Combine(dir, "statm"), 0);
        if (statm < 0)
        {
            return 0; // gone
        }

        entry = new Entry { Statm = statm, Generation = generation, TaskDir = Open(Path.Combine(dir, "task"), ODirectory) };
        var bytes = Rss(statm);
        ListThreads(pid, entry);
        foreach (var (_, fd) in entry.Threads)
        {
            PushChildren(fd);
        }

        if (_entries.Count < MaxCached)
        {
            _entries[pid] = entry;
        }
        else
        {
            Close(entry);
        }

        return Math.Max(0, bytes);
    }

    private void RefreshThreads(int pid, Entry entry)
    {
        if (entry.TaskDir < 0)
        {
            return;
        }

        var links = Links(entry.TaskDir);
        if (links != entry.TaskLinks || Stopwatch.GetTimestamp() - entry.ListedAt > ThreadRelist)
        {
            ListThreads(pid, entry);
        }
    }

    /// <summary>(Re)reads the thread list: keeps the descriptors of threads still there, opens new ones, closes the rest.</summary>
    private void ListThreads(int pid, Entry entry)
    {
        entry.ListedAt = Stopwatch.GetTimestamp();
        if (entry.TaskDir < 0)
        {
            return;
        }

        entry.TaskLinks = Links(entry.TaskDir);
        var taskPath = Path.Combine(procRoot, pid.ToString(CultureInfo.InvariantCulture), "task");
        var current = new List<(int Tid, int Fd)>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories(taskPath))
            {
                if (!int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out var tid))
                {
                    continue;
                }

                var known = entry.Threads.FindIndex(t => t.Tid == tid);
                if (known >= 0)
                {
                    current.Add(entry.Threads[known]);
                    entry.Threads.RemoveAt(known);
                }
                else if (Open(Path.Combine(task, "children"), 0) is var fd and >= 0)
                {
                    current.Add((tid, fd));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process ended while we listed its threads: what was opened is still read (empty) until it is dropped.
        }

        foreach (var (_, fd) in entry.Threads)
        {
            _ = close(fd);
        }

        entry.Threads.Clear();
        entry.Threads.AddRange(current);
    }

    /// <summary>Resident pages × page size from statm's second field; -1 when the file cannot be read (the process is gone).</summary>
    private long Rss(int fd)
    {
        var length = ReadAll(fd, oneLine: true);
        if (length <= 0)
        {
            return -1;
        }

        var text = _buffer.AsSpan(0, length);
        var space = text.IndexOf((byte)' ');
        if (space < 0)
        {
            return 0;
        }

        var rest = text[(space + 1)..];
        var end = rest.IndexOfAny((byte)' ', (byte)'\n');
        return long.TryParse(end < 0 ? rest : rest[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var pages)
            ? pages * Environment.SystemPageSize
            : 0;
    }

    private void PushChildren(int fd)
    {
        var length = ReadAll(fd);
        var text = _buffer.AsSpan(0, Math.Max(0, length));
        while (text.Length > 0)
        {
            var space = text.IndexOfAny((byte)' ', (byte)'\n');
            var part = space < 0 ? text : text[..space];
            if (part.Length > 0 && int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var child))
            {
                _pending.Push(child);
            }

            text = space < 0 ? [] : text[(space + 1)..];
        }
    }

    /// <summary>
    /// Reads the whole file from offset 0 into the buffer (growing it); its length, or -1 on an error. A file of one line
    /// (<paramref name="oneLine"/>: statm, loadavg) that fits the buffer comes whole from one read, so a read shorter than
    /// asked is its end: no second pread(2) to see the 0 (issue #19: two of the four system calls of every sample).
    /// </summary>
    private unsafe int ReadAll(int fd, bool oneLine = false)
    {
        var total = 0;
        while (true)
        {
            if (total == _buffer.Length)
            {
                if (_buffer.Length >= 1024 * 1024)
                {
                    return total; // a children list this long is cut (bounded; MaxProcesses bounds the walk anyway)
                }

                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            nint read;
            fixed (byte* p = &_buffer[total])
            {
                read = pread(fd, p, (nuint)(_buffer.Length - total), total);
            }

            if (read < 0)
            {
                return total > 0 ? total : -1;
            }

            if (read == 0)
            {
                return total;
            }

            var asked = _buffer.Length - total;
            total += (int)read;
            if (oneLine && read < asked)
            {
                return total;
            }
        }
    }

    private static int Open(string path, int flags) => open(path, ORdonly | OCloexec | flags);

    private static unsafe uint Links(int dirFd)
    {
        // struct statx: stx_mask (4), stx_blksize (4), stx_attributes (8), stx_nlink (4) at offset 16; 256 bytes in all.
        var buffer = stackalloc byte[256];
        return statx(dirFd, "", AtEmptyPath, StatxNlink, buffer) == 0 ? *(uint*)(buffer + 16) : 0;
    }

    private static void Close(Entry entry)
    {
        if (entry.Statm >= 0)
        {
            _ = close(entry.Statm);
        }

        if (entry.TaskDir >= 0)
        {
            _ = close(entry.TaskDir);
        }

        foreach (var (_, fd) in entry.Threads)
        {
            _ = close(fd);
        }

        entry.Threads.Clear();
    }

    public void Dispose()
    {
        foreach (var entry in _entries.Values)
        {
            Close(entry);
        }

        _entries.Clear();
        if (_selfChildren >= 0)
        {
            _ = close(_selfChildren);
        }

        _selfChildren = -1;
        if (_loadavg >= 0)
        {
            _ = close(_loadavg);
        }

        _loadavg = -1;
        _disposed = true;
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint pread(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int statx(int dirFd, string path, int flags, uint mask, byte* buffer);
}
