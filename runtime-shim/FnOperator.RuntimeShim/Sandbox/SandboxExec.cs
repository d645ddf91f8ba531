using System.Runtime.InteropServices;

namespace FnOperator.Sandboxing;

/// <summary>
/// `runtime-shim sandbox-exec -- program args…`: the exec'd step of the sandbox that gives the runtime its own process
/// group (setpgid) and no controlling terminal (TIOCNOTTY), then execs the runtime in place (same pid). Unlike `setsid` it
/// creates no new session, so on a kernel with sched_autogroup_enabled=1 the runtime stays in its shim's scheduling
/// autogroup instead of getting one of its own (docs/runtime-shim.md, "The sandbox's scheduling"). Every signal
/// disposition is reset to the default and the signal mask emptied first: the .NET runtime of this step ignores SIGPIPE,
/// and an ignored signal would survive the exec. Exit 126 when the group cannot be made, 127 when the program cannot be
/// run (as a shell reports them).
/// </summary>
internal static partial class SandboxExec
{
    public const string Verb = "sandbox-exec";
    private const int TiocNotty = 0x5422;
    private const int ORdwrNoctty = 0x2 | 0x100;
    private const int OCloexec = 0x80000;
    private static readonly nint SigDfl = 0;

    public static int Run(string[] args)
    {
        var separator = Array.IndexOf(args, "--");
        if (separator < 0 || separator + 1 >= args.Length)
        {
            Console.Error.WriteLine($"usage: {Verb} -- program [argument…]");
            return 127;
        }

        // A session leader cannot change its group, but it already leads one (a shell exec'ing the last command of `-c`).
        if (setpgid(0, 0) != 0 && getpgrp() != Environment.ProcessId)
        {
            var error = Marshal.GetLastPInvokeErrorMessage(); // before Console's own calls overwrite it
            Console.Error.WriteLine($"{Verb}: setpgid failed: {error}");
            return 126;
        }

        DetachTerminal();
        ResetSignals();
        var argv = args[(separator + 1)..];
        var pointers = new nint[argv.Length + 1];
        for (var i = 0; i < argv.Length; i++)
        {
            pointers[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
        }

        _ = execvp(pointers[0], pointers);
        var failure = Marshal.GetLastPInvokeErrorMessage();
        Console.Error.WriteLine($"{Verb}: cannot run {argv[0]}: {failure}");
        return 127;
    }

    /// <summary>Drops the controlling terminal this process inherited, if any (not being a session leader, only this process loses it).</summary>
    private static void DetachTerminal()
    {
        var fd = open("/dev/tty", ORdwrNoctty | OCloexec);
        if (fd >= 0)
        {
            _ = ioctl(fd, TiocNotty, 0);
            _ = close(fd);
        }
    }

    private static void ResetSignals()
    {
        for (var signal = 1; signal < 32; signal++)
        {
            if (signal is not (9 or 19))
            {
                _ = Signal(signal, SigDfl);
            }
        }

        // The real-time signals too (an ignored one survives exec as well: a CI runner's tree had 32 and 33 ignored).
        // glibc's signal() refuses 32 and 33, which it keeps for itself, so the kernel's rt_sigaction is called directly:
        // an all-zero struct sigaction is SIG_DFL with no flags and an empty mask on every architecture.
        var number = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 13,
            Architecture.Arm64 => 134,
            _ => -1,
        };
        if (number > 0)
        {
            var action = new byte[64];
            for (var signal = 32; signal <= 64; signal++)
            {
                _ = syscall(number, signal, action, 0, 8 /* the kernel's sigset_t */);
            }
        }

        var empty = new byte[128]; // sigset_t
        _ = sigprocmask(2 /* SIG_SETMASK */, empty, 0);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, long signal, byte[] action, nint oldAction, long sigsetSize);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpgid(int pid, int pgid);

    [LibraryImport("libc")]
    private static partial int getpgrp();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nint request, nint argument);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int signal, nint handler);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigprocmask(int how, byte[] set, nint oldSet);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int execvp(nint file, nint[] argv);
}
