using System.Text;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Finds the processes (shims and the runtimes they start) that run a function, by their environment.</summary>
public static class FunctionProcesses
{
    /// <summary>
    /// True for a runtime-shim process: one of its arguments is the JIT DLL (`dotnet …/FnOperator.RuntimeShim.dll`) or
    /// the Native AOT executable (`…/FnOperator.RuntimeShim`); a node runtime whose bootstrap lives under the shim's
    /// folder is not one. False when the process is gone.
    /// </summary>
    public static bool IsShim(int pid) => ShimOrGone(pid) == true;

    /// <summary>As <see cref="IsShim"/>, but null when the process is gone (neither a shim nor a runtime).</summary>
    public static bool? ShimOrGone(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0')
                .Any(arg => Path.GetFileName(arg) is "FnOperator.RuntimeShim.dll" or "FnOperator.RuntimeShim");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Pids of live processes whose environment has AWS_LAMBDA_FUNCTION_NAME=<paramref name="function"/>.</summary>
    public static IReadOnlyList<int> Of(string function)
    {
        var wanted = Encoding.UTF8.GetBytes($"AWS_LAMBDA_FUNCTION_NAME={function}\0");
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var environ = File.ReadAllBytes(Path.Combine(dir, "environ"));
                if (environ.AsSpan().IndexOf(wanted) >= 0 && !IsZombie(dir))
                {
                    pids.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked, or is not ours.
            }
        }

        return pids;
    }

    public static async Task<IReadOnlyList<int>> WaitUntilAsync(string function, Func<IReadOnlyList<int>, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var pids = Of(function);
        while (!condition(pids) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            pids = Of(function);
        }

        return pids;
    }

    private static bool IsZombie(string dir)
    {
        var stat = File.ReadAllText(Path.Combine(dir, "stat"));
        var close = stat.LastIndexOf(')');
        return close > 0 && close + 2 < stat.Length && stat[close + 2] == 'Z';
    }
}
