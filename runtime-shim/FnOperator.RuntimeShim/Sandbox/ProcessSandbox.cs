using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace FnOperator.Sandboxing;

/// <summary>
/// Process-wide bookkeeping that makes "every process it started, and theirs" one unit of cleanup: processes are started
/// from one long-lived thread (PR_SET_PDEATHSIG fires when the forking <em>thread</em> exits, so a retired thread-pool
/// thread must never be a runtime's parent) and recorded as tracked; once this process is a child subreaper
/// (<see cref="BecomeSubreaper"/>), every other child is an orphan of a tracked process (a double fork, a `setsid`
/// child left behind) and <see cref="KillOrphans"/> kills it with all its descendants; a 1 s timer reaps the zombies.
/// </summary>
internal static class ProcessSandbox
{
    private static readonly Lock Gate = new();
    private static readonly HashSet<int> Tracked = [];
    private static readonly BlockingCollection<Action> Work = [];
    private static readonly Thread Launcher = StartLauncher();
    private static Timer? reaper;

    /// <summary>True once this process is a child subreaper (Linux).</summary>
    public static bool IsSubreaper { get; private set; }

    /// <summary>Makes this process a child subreaper and starts the zombie reaper; false where the OS does not allow it.</summary>
    public static bool BecomeSubreaper()
    {
        lock (Gate)
        {
            if (!IsSubreaper && ProcessTable.EnableSubreaper())
            {
                IsSubreaper = true;
                reaper = new Timer(_ => Reap(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            }

            return IsSubreaper;
        }
    }

    /// <summary>Starts <paramref name="process"/> on the launcher thread and tracks it until <see cref="Untrack"/>.</summary>
    public static void Start(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        Exception? error = null;
        using var done = new ManualResetEventSlim();
        Work.Add(() =>
        {
            try
            {
                lock (Gate)
                {
                    process.Start();
                    Tracked.Add(process.Id);
                }
            }
            catch (Exception e)
            {
                error = e;
            }
            finally
            {
                done.Set();
            }
        });

        // A synchronous hand-off: the fork takes milliseconds and callers start processes rarely (init, reset).
        done.Wait();
        if (error is not null)
        {
            ExceptionDispatchInfo.Throw(error);
        }
    }

    /// <summary>Forgets a tracked process once it has exited (its own Process object has collected the exit code).</summary>
    public static void Untrack(int pid)
    {
        lock (Gate)
        {
            Tracked.Remove(pid);
        }
    }

    /// <summary>
    /// Kills every child that is not tracked, with all its descendants, until none is left (bounded), then reaps them.
    /// Without the subreaper flag orphans are not ours to find and nothing is done. Returns how many were killed.
    /// </summary>
    public static int KillOrphans()
    {
        if (!IsSubreaper)
        {
            return 0;
        }

        var self = Environment.ProcessId;
        var killed = 0;
        for (var round = 0; round < 20; round++)
        {
            List<int> victims = [];
            lock (Gate)
            {
                foreach (var pid in ProcessTable.Children(self))
                {
                    if (!Tracked.Contains(pid) && ProcessTable.Stat(pid) is { State: not ('Z' or 'X') })
                    {
                        victims.Add(pid);
                        victims.AddRange(ProcessTable.Descendants(pid));
                    }
                }
            }

            if (victims.Count == 0)
            {
                break;
            }

            killed += ProcessTable.KillAll(victims);
            Thread.Sleep(20);
            Reap();
        }

        Reap();
        return killed;
    }

    private static void Reap()
    {
        lock (Gate)
        {
            ProcessTable.ReapUntracked(Tracked);
        }
    }

    private static Thread StartLauncher()
    {
        var thread = new Thread(() =>
        {
            foreach (var action in Work.GetConsumingEnumerable())
            {
                action();
            }
        })
        {
            IsBackground = true,
            Name = "fnop-sandbox-launcher",
        };
        thread.Start();
        return thread;
    }
}
