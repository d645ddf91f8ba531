using System.Globalization;
using System.Text;

namespace FnOperator.Sandbox.Tests;

/// <summary>The process table as the tests see it: processes by command line, their uid and resident memory.</summary>
public static class Procs
{
    /// <summary>Live (non-zombie) processes whose argv is exactly <paramref name="argv"/>.</summary>
    public static List<int> WithArgs(params string[] argv)
    {
        var wanted = Encoding.UTF8.GetBytes(string.Join('\0', argv) + "\0");
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllBytes(Path.Combine(dir, "cmdline")).AsSpan().SequenceEqual(wanted) && !IsZombie(pid))
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

    public static bool Alive(int pid) => Directory.Exists($"/proc/{pid}") && !IsZombie(pid);

    /// <summary>VmRSS in MB, 0 when the process is gone.</summary>
    public static long RssMb(int pid) => StatusField(pid, "VmRSS:") / 1024;

    public static long Uid(int pid) => StatusField(pid, "Uid:");

    /// <summary>Polls (generously: the machine is loaded) until the condition holds; false when it never did.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return condition();
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    private static long StatusField(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ', '\t')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
