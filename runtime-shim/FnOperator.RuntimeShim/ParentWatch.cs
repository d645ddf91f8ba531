using System.Globalization;
using System.Runtime.InteropServices;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The opt-in parent watch (FNOP_PARENT_PID): tells when the process that started the shim (local mode) is gone, so the
/// shim does not outlive it. A process is identified by its pid and its start time (field 22 of /proc/&lt;pid&gt;/stat),
/// so a recycled pid is not mistaken for the parent; a zombie counts as gone. Without /proc the check falls back to
/// kill(pid, 0).
/// </summary>
public static partial class ParentWatch
{
    /// <summary>How often the parent is checked.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    /// <summary>How long the in-flight invocation may still run once the parent is gone (its result cannot be delivered).</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(5);

    private const int Esrch = 3;

    /// <summary>The identity of a live process (its start time, or "" without /proc); null when it is not running.</summary>
    public static string? Identify(int pid)
    {
        if (!Directory.Exists("/proc/self"))
        {
            return kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() != Esrch ? "" : null;
        }

        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // Fields after the command name (which may contain spaces and parentheses): state is field 3, starttime field 22.
        var close = stat.LastIndexOf(')');
        var fields = close < 0 ? [] : stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 20 || fields[0] is "Z" or "X" or "x")
        {
            return null;
        }

        return fields[19];
    }

    /// <summary>Completes when process <paramref name="pid"/> (as it was when this was called) has exited.</summary>
    public static async Task WaitForExitAsync(int pid, TimeProvider time, CancellationToken cancellationToken)
    {
        var identity = Identify(pid);
        using var timer = new PeriodicTimer(Interval, time);
        while (identity is not null && Identify(pid) == identity)
        {
            if (!await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
