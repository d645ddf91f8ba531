namespace FnOperator.DotnetBootstrap;

/// <summary>
/// The shim is the runtime's parent: when it is gone (killed with SIGKILL, say) the runtime is re-parented and no one
/// is left to serve it or read its output, so the runtime ends itself, even mid-invocation.
/// </summary>
public static class ParentWatch
{
    private static Timer? timer;

    public static void Start()
    {
        var parent = ParentPid();
        if (parent is null)
        {
            return;
        }

        timer = new Timer(_ =>
        {
            if (ParentPid() != parent)
            {
                Environment.Exit(1);
            }
        }, null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
    }

    /// <summary>Field 4 of /proc/self/stat (after the parenthesised command name); null without /proc.</summary>
    private static int? ParentPid()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
