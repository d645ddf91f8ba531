namespace FnOperator.Gateway;

/// <summary>
/// Inline I/O: the gateway process runs socket continuations and Kestrel's request code on the socket event threads
/// instead of handing every read and write to the thread pool, and its pool workers do not spin for work. On by default
/// in local mode, off in serve mode; <c>FNOP_INLINE_IO=1|0</c> turns it on or off in either (docs/performance.md,
/// "Ninth pass").
/// </summary>
/// <remarks>
/// Why: at c=1 an invocation crossed threads four times (caller's request to a pool worker, the worker's write to the
/// runtime, the runtime's answer to another worker, its result to the caller), each a futex wake-up, and the workers'
/// spin-wait for the next item burned a core between them (issue #19's c=1 profile). Inline, one event thread reads the
/// request, hands it to the waiting in-process instance and writes it to the runtime; the runtime's answer is read and
/// written back to the caller on an event thread too. What it asks of the code: nothing on a socket continuation may block
/// for long (it would stall the other sockets of its event thread) or wait synchronously for another socket. The
/// gateway's request and Runtime API paths are asynchronous throughout; the pool's scaling work, process starts and
/// timers run on the thread pool as before.
/// The socket half is the runtime's <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c>, read once from the process's
/// environment when the first socket is registered, so <see cref="Configure"/> runs first thing in Main; it is set only
/// when the user did not set it, and a variable set so is not passed on to shim processes (<see cref="SetHere"/>).
/// </remarks>
public static class InlineIo
{
    public const string Variable = "FNOP_INLINE_IO";
    public const string SocketsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
    public const string SpinLimitSetting = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";

    private static readonly HashSet<string> SetOnThisProcess = new(StringComparer.Ordinal);

    /// <summary>True once <see cref="Configure"/> turned inline I/O on for this process.</summary>
    public static bool Enabled { get; private set; }

    /// <summary>Environment variables this process set on itself for inline I/O (not the user's: shims do not inherit them).</summary>
    public static IReadOnlySet<string> SetHere => SetOnThisProcess;

    /// <summary>On or off for a command (<c>local</c>, <c>serve</c>) and the value of <see cref="Variable"/>; a problem for a value that is neither 0 nor 1.</summary>
    public static bool Decide(string? command, string? value, out string? problem)
    {
        problem = null;
        switch (value?.Trim())
        {
            case null or "":
                return command == "local";
            case "1" or "true":
                return true;
            case "0" or "false":
                return false;
            default:
                problem = $"{Variable} must be 1 or 0 (was '{value}')";
                return false;
        }
    }

    /// <summary>
    /// Decides and applies inline I/O for this process from its command and environment; returns a problem with
    /// <see cref="Variable"/> instead (nothing applied). Call before anything opens a socket or uses the thread pool.
    /// </summary>
    public static string? Configure(string? command)
    {
        if (!Decide(command, Environment.GetEnvironmentVariable(Variable), out var problem))
        {
            return problem;
        }

        if (Environment.GetEnvironmentVariable(SocketsVariable) is null)
        {
            Environment.SetEnvironmentVariable(SocketsVariable, "1");
            SetOnThisProcess.Add(SocketsVariable);
        }

        // Read when the thread pool's first worker starts (an explicit DOTNET_ThreadPool_UnfairSemaphoreSpinLimit wins).
        AppContext.SetData(SpinLimitSetting, 0);
        Enabled = true;
        return null;
    }
}
