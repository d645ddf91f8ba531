using System.Globalization;
using System.Runtime.InteropServices;

namespace FnOperator.Sandboxing;

/// <summary>
/// Linux process primitives the sandbox is built on: the child-subreaper flag, the process table under /proc (parent,
/// state), killing a whole set of descendants and reaping the zombies of processes nobody else waits for. Used by the
/// runtime-shim (for its runtime) and by local mode (for its shims). Linux only: elsewhere <see cref="IsSupported"/> is
/// false and the callers keep to what .NET offers (killing the process tree they started).
/// </summary>
internal static partial class ProcessTable
{
    private const int PrSetChildSubreaper = 36;
    private const int Sigkill = 9;
    private const int Wnohang = 1;

    /// <summary>True on Linux with /proc mounted.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && Directory.Exists("/proc/self");

    /// <summary>
    /// Makes this process a child subreaper: orphans among its descendants (a double fork, `setsid … &amp;`) are re-parented
    /// to it instead of to init, so they stay findable as its descendants. False when the kernel refused or off Linux.
    /// </summary>
    public static bool EnableSubreaper() => IsSupported && prctl(PrSetChildSubreaper, 1, 0, 0, 0) == 0;

    /// <summary>True when this process runs as root (effective uid 0).</summary>
    public static bool IsRoot => IsSupported && geteuid() == 0;

    /// <summary>
    /// Direct children of a process, from /proc/&lt;pid&gt;/task/*/children (one small file per thread, instead of a scan of
    /// the whole process table); empty when it is gone.
    /// </summary>
    public static List<int> Children(int pid)
    {
        var children = new List<int>();
        string[] tasks;
        try
        {
            tasks = IsSupported ? Directory.GetDirectories($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/task") : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return children;
        }

        foreach (var task in tasks)
        {
            try
            {
                foreach (var part in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var child))
                    {
                        children.Add(child);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The thread ended while we looked.
            }
        }

        return children;
    }

    /// <summary>Every live descendant of <paramref name="root"/> (not the root itself), parents before children.</summary>
    public static List<int> Descendants(int root)
    {
        var result = new List<int>();
        var seen = new HashSet<int> { root };
        var pending = new Queue<int>();
        pending.Enqueue(root);
        while (pending.Count > 0 && result.Count < 65536)
        {
            foreach (var child in Children(pending.Dequeue()))
            {
                if (seen.Add(child))
                {
                    result.Add(child);
                    pending.Enqueue(child);
                }
            }
        }

        return result;
    }

    /// <summary>SIGKILLs each pid (and its process group when it leads one); returns how many were signalled.</summary>
    public static int KillAll(IEnumerable<int> pids)
    {
        var count = 0;
        foreach (var pid in pids)
        {
            if (pid > 1 && kill(pid, Sigkill) == 0)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>
    /// Reaps exited children of this process that .NET does not track (orphans re-parented to a subreaper). Tracked
    /// children are left alone: their Process object collects their exit code.
    /// </summary>
    public static int ReapUntracked(IReadOnlySet<int> tracked)
    {
        if (!IsSupported)
        {
            return 0;
        }

        var reaped = 0;
        foreach (var pid in Children(Environment.ProcessId))
        {
            if (!tracked.Contains(pid) && Stat(pid) is { State: 'Z' or 'X' } && waitpid(pid, out _, Wnohang) == pid)
            {
                reaped++;
            }
        }

        return reaped;
    }

    /// <summary>Parent pid and state of one process; null when it is gone.</summary>
    public static (int Parent, char State)? Stat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
        var close = text.LastIndexOf(')');
        var fields = close < 0 ? [] : text[(close + 1)..].Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent)
            ? (parent, fields[0][0])
            : null;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, out int status, int options);
}
