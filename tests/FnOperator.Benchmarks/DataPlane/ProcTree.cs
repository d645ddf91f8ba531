using System.Globalization;

namespace FnOperator.Benchmarks.DataPlane;

/// <summary>One process as /proc shows it: CPU time so far (user + system, seconds) and resident memory.</summary>
internal sealed record ProcSample(int Pid, string Name, double CpuSeconds, long RssBytes);

/// <summary>Reads a process and all its descendants from /proc (Linux only): the servers' CPU and RSS in the benchmark.</summary>
internal static class ProcTree
{
    /// <summary>Clock ticks per second of /proc/PID/stat's utime/stime (USER_HZ, 100 on Linux).</summary>
    private const double TicksPerSecond = 100.0;

    /// <summary>The 1, 5 and 15 minute load averages, printed beside every figure the benchmarks take ("?" without /proc).</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    public static IReadOnlyList<ProcSample> Sample(int rootPid)
    {
        var all = new Dictionary<int, (int Parent, ProcSample Sample)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            if (Read(pid) is { } read)
            {
                all[pid] = read;
            }
        }

        var result = new List<ProcSample>();
        var pending = new Queue<int>([rootPid]);
        var seen = new HashSet<int>();
        while (pending.TryDequeue(out var pid))
        {
            if (!seen.Add(pid) || !all.TryGetValue(pid, out var entry))
            {
                continue;
            }

            result.Add(entry.Sample);
            foreach (var (child, value) in all)
            {
                if (value.Parent == pid)
                {
                    pending.Enqueue(child);
                }
            }
        }

        return result;
    }

    public static double CpuSeconds(IEnumerable<int> roots) => roots.SelectMany(Sample).Sum(p => p.CpuSeconds);

    private static (int Parent, ProcSample Sample)? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            var name = stat[(stat.IndexOf('(') + 1)..close];
            var fields = stat[(close + 2)..].Split(' ');
            // fields[0] is state (field 3 of stat); ppid is field 4, utime 14, stime 15, rss (pages) 24.
            var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
            var cpu = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            var rss = long.Parse(fields[21], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
            return (parent, new ProcSample(pid, name, cpu, rss));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
