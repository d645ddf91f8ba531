using System.Globalization;
using System.Runtime.InteropServices;

namespace FnOperator.Sandboxing;

/// <summary>
/// `runtime-shim keeper --parent PID -- program args…`: the resident sandbox of one runtime for a process that hosts the
/// shim's code (local mode's in-process instances), so each runtime and everything it leaves behind are one unit, as a
/// shim process makes them in process mode. The keeper makes itself a child subreaper (a double fork or a `setsid` child
/// of the runtime is re-parented to it, not to local mode), leaves local mode's process group and its controlling
/// terminal, and starts the runtime with posix_spawn (no managed code in a forked child) in a process group of its own
/// with every signal disposition at its default and an empty mask, as <see cref="SandboxExec"/> gives it. It then blocks
/// in waitpid (no timer: ~0 CPU while idle). When the runtime exits it kills every remaining descendant (the runtime's
/// orphans) and exits with the runtime's exact status: its exit code, or the same signal re-raised, so the parent sees
/// "killed by signal N". Signals from the parent: SIGTERM is forwarded to the runtime's process group (a stop's
/// graceful step); <see cref="KillSignal"/> kills the runtime's group and every descendant at once (the parent's SIGKILL
/// of a runtime). The parent's death (local mode SIGKILLed) sends the keeper <see cref="KillSignal"/> (PR_SET_PDEATHSIG),
/// so the orphans go with it. Exit 126 when the keeper cannot set itself up, 127 when the program cannot be run.
/// </summary>
internal static partial class Keeper
{
    public const string Verb = "keeper";

    /// <summary>The parent's "kill the runtime and all it left, now" (SIGUSR1): a keeper itself is never SIGKILLed, or its orphans would outlive it.</summary>
    public const int KillSignal = 10;

    private const int Sigterm = 15;
    private const int Sigkill = 9;
    private const int Sigchld = 17;
    private const int PrSetPdeathsig = 1;
    private const int Wnohang = 1;
    private const int Eintr = 4;
    private const int Echild = 10;
    private const int TiocNotty = 0x5422;
    private const int ORdwrNoctty = 0x2 | 0x100;
    private const int OCloexec = 0x80000;
    private const short SpawnSetPgroup = 0x02;
    private const short SpawnSetSigDef = 0x04;
    private const short SpawnSetSigMask = 0x08;
    private static readonly Lock Gate = new();
    private static int runtimePid;
    private static bool killRequested;
    private static bool termRequested;

    public static int Run(string[] args)
    {
        var separator = Array.IndexOf(args, "--");
        int parent = 0;
        if (separator < 0 || separator + 1 >= args.Length
            || (separator == 3 && (args[1] != "--parent" || !int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out parent)))
            || separator is not (1 or 3))
        {
            Console.Error.WriteLine($"usage: {Verb} [--parent PID] -- program [argument…]");
            return 127;
        }

        if (!ProcessTable.EnableSubreaper())
        {
            Console.Error.WriteLine($"{Verb}: cannot become a child subreaper: {Marshal.GetLastPInvokeErrorMessage()}");
            return 126;
        }

        // Out of local mode's process group and off its terminal: a Ctrl-C at local mode's terminal reaches local mode
        // only (which stops its instances), as the runtime of a shim process never sees it.
        if (setpgid(0, 0) != 0 && getpgrp() != Environment.ProcessId)
        {
            Console.Error.WriteLine($"{Verb}: setpgid failed: {Marshal.GetLastPInvokeErrorMessage()}");
            return 126;
        }

        DetachTerminal();
        _ = Signal(Sigchld, 0); // SIG_DFL: an inherited SIG_IGN would have the kernel reap the runtime before waitpid sees its status
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnTerm);
        using var killing = PosixSignalRegistration.Create((PosixSignal)KillSignal, OnKill);
        if (prctl(PrSetPdeathsig, KillSignal, 0, 0, 0) != 0 || (parent > 0 && getppid() != parent))
        {
            // The parent was gone before the death signal was armed: nothing is started.
            Console.Error.WriteLine($"{Verb}: the parent process {parent} is gone");
            return 126;
        }

        var argv = args[(separator + 1)..];
        if (Spawn(argv) is not { } pid)
        {
            return 127;
        }

        lock (Gate)
        {
            runtimePid = pid;
            if (killRequested)
            {
                KillEverythingLocked();
            }
            else if (termRequested)
            {
                _ = kill(-pid, Sigterm);
            }
        }

        var status = WaitForRuntime(pid);
        lock (Gate)
        {
            runtimePid = 0; // its pid (and group) may be reused from here on
        }

        KillOrphans();
        term.Dispose();
        killing.Dispose();
        return ExitLike(status);
    }

    /// <summary>The runtime's wait status (orphans reaped on the way); -1 when it cannot be waited for.</summary>
    private static int WaitForRuntime(int pid)
    {
        while (true)
        {
            var reaped = waitpid(-1, out var status, 0);
            if (reaped == pid)
            {
                return status;
            }

            if (reaped < 0 && Marshal.GetLastPInvokeError() != Eintr)
            {
                return -1; // ECHILD: not ours to wait for (cannot happen for a child we spawned)
            }
        }
    }

    /// <summary>Kills every descendant left and reaps it; bounded (a fork bomb gets 50 rounds, then the parent's fallback).</summary>
    private static void KillOrphans()
    {
        var self = Environment.ProcessId;
        for (var round = 0; round < 50; round++)
        {
            var left = ProcessTable.Descendants(self);
            _ = ProcessTable.KillAll(left);
            while (waitpid(-1, out _, Wnohang) > 0)
            {
            }

            if (left.Count == 0 && waitpid(-1, out _, Wnohang) < 0 && Marshal.GetLastPInvokeError() == Echild)
            {
                return;
            }

            Thread.Sleep(10);
        }
    }

    /// <summary>Exits as the runtime did: its exit code, or its signal raised again at the keeper.</summary>
    private static int ExitLike(int status)
    {
        if (status < 0)
        {
            return 127;
        }

        var signal = status & 0x7f;
        if (signal == 0)
        {
            return (status >> 8) & 0xff;
        }

        // Killed by a signal: die of the same one (its default action, no core file of the keeper's own).
        var noCore = new long[2];
        _ = setrlimit(4 /* RLIMIT_CORE */, noCore);
        _ = Signal(signal, 0);
        var mask = new byte[128];
        _ = sigprocmask(2 /* SIG_SETMASK */, mask, 0);
        _ = kill(Environment.ProcessId, signal);
        Thread.Sleep(100);
        return 128 + signal; // a signal whose default is not to terminate (it could not have ended the runtime)
    }

    private static void OnTerm(PosixSignalContext context)
    {
        context.Cancel = true;
        lock (Gate)
        {
            termRequested = true;
            if (runtimePid > 0)
            {
                _ = kill(-runtimePid, Sigterm);
            }
        }
    }

    private static void OnKill(PosixSignalContext context)
    {
        context.Cancel = true;
        lock (Gate)
        {
            killRequested = true;
            KillEverythingLocked();
        }
    }

    private static void KillEverythingLocked()
    {
        if (runtimePid > 0)
        {
            _ = kill(-runtimePid, Sigkill);
            _ = kill(runtimePid, Sigkill);
        }

        _ = ProcessTable.KillAll(ProcessTable.Descendants(Environment.ProcessId));
    }

    /// <summary>posix_spawnp with its own process group, every signal at its default and an empty mask; null when it cannot run.</summary>
    private static int? Spawn(string[] argv)
    {
        var environment = Environment.GetEnvironmentVariables();
        var strings = new List<nint>();
        var argvPointers = new nint[argv.Length + 1];
        var envPointers = new nint[environment.Count + 1];
        var attributes = Marshal.AllocHGlobal(1024); // posix_spawnattr_t: 336 bytes in glibc
        try
        {
            for (var i = 0; i < argv.Length; i++)
            {
                strings.Add(argvPointers[i] = Marshal.StringToCoTaskMemUTF8(argv[i]));
            }

            var n = 0;
            foreach (System.Collections.DictionaryEntry entry in environment)
            {
                strings.Add(envPointers[n++] = Marshal.StringToCoTaskMemUTF8($"{entry.Key}={entry.Value}"));
            }

            var all = new byte[128];
            Array.Fill(all, (byte)0xff);
            var none = new byte[128];
            if (posix_spawnattr_init(attributes) != 0
                || posix_spawnattr_setflags(attributes, SpawnSetPgroup | SpawnSetSigDef | SpawnSetSigMask) != 0
                || posix_spawnattr_setpgroup(attributes, 0) != 0
                || posix_spawnattr_setsigdefault(attributes, all) != 0
                || posix_spawnattr_setsigmask(attributes, none) != 0)
            {
                Console.Error.WriteLine($"{Verb}: posix_spawnattr failed");
                return null;
            }

            var error = posix_spawnp(out var pid, argv[0], 0, attributes, argvPointers, envPointers);
            _ = posix_spawnattr_destroy(attributes);
            if (error != 0)
            {
                Console.Error.WriteLine($"{Verb}: cannot run {argv[0]}: {Marshal.GetPInvokeErrorMessage(error)}");
                return null;
            }

            return pid;
        }
        finally
        {
            foreach (var s in strings)
            {
                Marshal.FreeCoTaskMem(s);
            }

            Marshal.FreeHGlobal(attributes);
        }
    }

    /// <summary>Drops the controlling terminal this process inherited, if any (for this process only: it leads no session).</summary>
    private static void DetachTerminal()
    {
        var fd = open("/dev/tty", ORdwrNoctty | OCloexec);
        if (fd >= 0)
        {
            _ = ioctl(fd, TiocNotty, 0);
            _ = close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpgid(int pid, int pgid);

    [LibraryImport("libc")]
    private static partial int getpgrp();

    [LibraryImport("libc")]
    private static partial int getppid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, out int status, int options);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int signal, nint handler);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigprocmask(int how, byte[] set, nint oldSet);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, long[] limit);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nint request, nint argument);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_init(nint attributes);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_destroy(nint attributes);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setflags(nint attributes, short flags);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setpgroup(nint attributes, int pgroup);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigdefault(nint attributes, byte[] set);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigmask(nint attributes, byte[] set);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawnp(out int pid, string file, nint fileActions, nint attributes, nint[] argv, nint[] envp);
}
