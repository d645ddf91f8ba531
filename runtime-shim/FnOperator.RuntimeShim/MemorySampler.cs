using System.Diagnostics;
using System.Globalization;

namespace FnOperator.RuntimeShim;

/// <summary>
/// Measures the runtime's memory for REPORT's "Max Memory Used": the container's cgroup (memory.current) when the shim is
/// the container's first process, else the summed RSS of the runtime's process tree from /proc. Sampled every 50 ms while the
/// runtime works (init, an invocation), once more when it goes idle, and not at all
/// while it waits in `GET next` (an idle instance costs no CPU); the peak is kept for the runtime's lifetime, as Lambda's
/// figure is for its execution environment.
/// With a limit (the function's memory size) the sampler is also the RSS watchdog: a /proc sample over the limit calls the
/// tracked runtime's kill action at once (a cgroup's limit is the kernel's to enforce; its oom_kill count is read instead).
/// </summary>
public sealed class MemorySampler : IDisposable
{
    private const string CgroupCurrent = "/sys/fs/cgroup/memory.current";
    private const string CgroupEvents = "/sys/fs/cgroup/memory.events";
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
        if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastSample)) > TimeSpan.FromMilliseconds(20))
        {
            Sample();
        }

        _watches.TryRemove(watch, out _);
        return (int)Math.Ceiling(Interlocked.Read(ref watch.PeakBytes) / (1024.0 * 1024.0));
    }

    public MemorySampler(ShimOptions options)
    {
        _useCgroup = options.MemorySource switch
        {
            "cgroup" => File.Exists(CgroupCurrent),
            "proc" => false,
            _ => Environment.ProcessId == 1 && File.Exists(CgroupCurrent),
        };
        _timer = new Timer(_ => Sample(), null, Timeout.Infinite, Timeout.Infinite);
    }

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
        Interlocked.Exchange(ref _busy, 0);
        Resume();
    }

    /// <summary>The runtime started work (init or an invocation): sample every 50 ms until <see cref="Pause"/>.</summary>
    public void Resume()
    {
        if (Interlocked.Increment(ref _busy) == 1)
        {
            _timer.Change(TimeSpan.Zero, Interval);
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

    /// <summary>True when the tracked runtime reached its memory limit: the watchdog fired, or the cgroup's OOM killer did.</summary>
    public bool LimitReached =>
        Volatile.Read(ref _limitHit) != 0 || (_useCgroup && OomKills() > Interlocked.Read(ref _oomKillsAtStart));

    /// <summary>Returns the peak so far in MB (rounded up), sampling first unless a sample is under 20 ms old.</summary>
    public int PeakMb()
    {
        if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastSample)) > TimeSpan.FromMilliseconds(20))
        {
            Sample();
        }

        var peak = Interlocked.Read(ref _peakBytes);
        return (int)Math.Ceiling(peak / (1024.0 * 1024.0));
    }

    public void Dispose() => _timer.Dispose();

    private void Sample()
    {
        var pid = Volatile.Read(ref _rootPid);
        if (pid <= 0)
        {
            return;
        }

        var bytes = _useCgroup ? ReadCgroup() : TreeRss(pid);
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
        if (!_useCgroup && limit > 0 && bytes > limit && Interlocked.Exchange(ref _limitHit, 1) == 0)
        {
            Volatile.Read(ref _onLimit)?.Invoke();
        }
    }

    private static long OomKills()
    {
        try
        {
            foreach (var line in File.ReadLines(CgroupEvents))
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

    private static long ReadCgroup()
    {
        try
        {
            return long.Parse(File.ReadAllText(CgroupCurrent).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Sum of resident memory over a process and all its descendants (via /proc/&lt;pid&gt;/task/*/children).</summary>
    public static long TreeRss(int rootPid)
    {
        long total = 0;
        var pending = new Stack<int>();
        var seen = new HashSet<int>();
        pending.Push(rootPid);
        while (pending.Count > 0 && seen.Count < 4096)
        {
            var pid = pending.Pop();
            if (!seen.Add(pid))
            {
                continue;
            }

            total += Rss(pid);
            foreach (var child in Children(pid))
            {
                pending.Push(child);
            }
        }

        return total;
    }

    private static long Rss(int pid)
    {
        try
        {
            var fields = File.ReadAllText($"/proc/{pid}/statm").Split(' ');
            return fields.Length > 1 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages)
                ? pages * Environment.SystemPageSize
                : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static IEnumerable<int> Children(int pid)
    {
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories($"/proc/{pid}/task");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break;
        }

        foreach (var task in tasks)
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(task, "children"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
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
}
