using System.Collections;
using System.Globalization;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The shim's sandbox settings, from its environment (see docs/runtime-shim.md "Sandbox"): the uid/gid the runtime runs
/// as (local mode sets one per function when it runs as root) and whether the memory size is enforced.
/// </summary>
public sealed record SandboxSettings
{
    public const string UidVariable = "FNOP_RUNTIME_UID";
    public const string GidVariable = "FNOP_RUNTIME_GID";
    public const string MemoryLimitVariable = "FNOP_MEMORY_LIMIT";
    public const string SetprivPath = "/usr/bin/setpriv";

    /// <summary>
    /// The path of a Native AOT runtime-shim whose `sandbox-exec` step launches the runtime, for a process that hosts the
    /// shim's code without being that executable (local mode's in-process instances: the gateway). Used under the same
    /// rule as <see cref="DefaultGroupLauncher"/> (autogroups on, not PID 1); unset, missing or a DLL: the default.
    /// </summary>
    public const string GroupLauncherVariable = "FNOP_SANDBOX_GROUP_LAUNCHER";

    /// <summary>
    /// The runtime-shim whose `keeper` verb (<see cref="FnOperator.Sandboxing.Keeper"/>) is the resident sandbox of each
    /// runtime, for a process that hosts the shim's code (local mode's in-process instances): the Native AOT executable,
    /// or the JIT-built DLL (run by the dotnet host). Unset or missing: no keeper (the hosting process is the runtimes'
    /// subreaper, as before).
    /// </summary>
    public const string KeeperVariable = "FNOP_SANDBOX_KEEPER";

    /// <summary>The keeper's command (program and leading arguments, before `--parent PID --`); null = none.</summary>
    public IReadOnlyList<string>? Keeper { get; init; }

    /// <summary>Run the runtime as this uid (needs root and setpriv); null = the shim's own.</summary>
    public int? RuntimeUid { get; init; }

    public int? RuntimeGid { get; init; }

    /// <summary>False with FNOP_MEMORY_LIMIT=off: the memory size is reported but not enforced.</summary>
    public bool EnforceMemory { get; init; } = true;

    public static SandboxSettings From(IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        static int? Id(object? value) =>
            value is string s && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0 ? id : null;
        var uid = Id(environment[UidVariable]);
        return new SandboxSettings
        {
            RuntimeUid = uid,
            RuntimeGid = Id(environment[GidVariable]) ?? uid,
            EnforceMemory = !string.Equals(environment[MemoryLimitVariable] as string, "off", StringComparison.OrdinalIgnoreCase),
            GroupLauncher = LauncherFrom(environment[GroupLauncherVariable] as string) ?? DefaultGroupLauncher,
            Keeper = KeeperFrom(environment[KeeperVariable] as string),
        };
    }

    /// <summary>`[shim, "keeper"]` for a Native AOT shim, `[dotnet, shim.dll, "keeper"]` for the JIT one; null when it does not exist (or off Linux).</summary>
    public static IReadOnlyList<string>? KeeperFrom(string? shim)
    {
        if (shim is not { Length: > 0 } || !Path.IsPathRooted(shim) || !File.Exists(shim) || !FnOperator.Sandboxing.ProcessTable.IsSupported)
        {
            return null;
        }

        if (!shim.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            return [shim, FnOperator.Sandboxing.Keeper.Verb];
        }

        // The dotnet host running this process when it is one (the same runtime), else dotnet from PATH.
        var dotnet = Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        return [dotnet, shim, FnOperator.Sandboxing.Keeper.Verb];
    }

    /// <summary>`[shim, "sandbox-exec", "--"]` for a Native AOT shim that exists, on a kernel with autogroups, when this process is not PID 1.</summary>
    internal static IReadOnlyList<string>? LauncherFrom(string? shim) =>
        shim is { Length: > 0 } && Path.IsPathRooted(shim) && !shim.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
        && File.Exists(shim) && Environment.ProcessId != 1 && AutogroupsEnabled()
            ? [shim, FnOperator.Sandboxing.SandboxExec.Verb, "--"]
            : null;

    /// <summary>
    /// The command (program and leading arguments) that runs a program in its own process group without a controlling
    /// terminal and without a new session (<see cref="FnOperator.Sandboxing.SandboxExec"/>): the Native AOT shim's own
    /// executable, `runtime-shim sandbox-exec --` (<see cref="DefaultGroupLauncher"/> says when). Null (the JIT-built shim,
    /// whose `dotnet` start would cost ~50 ms per runtime start; a process that merely hosts the shim; a kernel without
    /// autogroups; a container) falls back to `setsid`.
    /// </summary>
    public IReadOnlyList<string>? GroupLauncher { get; init; } = DefaultGroupLauncher;

    /// <summary>The kernel switch that makes every new session its own CPU scheduling group.</summary>
    public const string AutogroupSwitch = "/proc/sys/kernel/sched_autogroup_enabled";

    /// <summary>
    /// `[this executable, "sandbox-exec", "--"]` when this process is the Native AOT runtime-shim, the kernel gives every
    /// session its own scheduling group (<see cref="AutogroupSwitch"/> is 1) and the shim is not PID 1 (a container's
    /// entrypoint: there the pod's cgroup already puts the shim and its runtime in one scheduling group, autogroups apply to
    /// the root cgroup only, and setsid's exec is ~4 ms of CPU cheaper than this one); else null (setsid).
    /// </summary>
    public static IReadOnlyList<string>? DefaultGroupLauncher { get; } = LauncherFrom(NativeShimPath());

    /// <summary>
    /// This process's executable when it is the Native AOT shim: the shim's entry assembly with no FnOperator.RuntimeShim.dll
    /// beside it (the JIT build runs that DLL under `dotnet` or its apphost; RuntimeFeature.IsDynamicCodeSupported cannot
    /// tell them apart, as the project's PublishAot switches it off in the JIT build's runtimeconfig too).
    /// </summary>
    private static string? NativeShimPath() =>
        Environment.ProcessPath is { } path
        && System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name == "FnOperator.RuntimeShim"
        && !File.Exists(Path.Combine(AppContext.BaseDirectory, "FnOperator.RuntimeShim.dll"))
            ? path
            : null;

    private static bool AutogroupsEnabled()
    {
        try
        {
            return File.ReadAllText(AutogroupSwitch).Trim() == "1";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Wraps the runtime's command line: `setpriv --pdeathsig KILL` (the runtime dies with the shim, even a SIGKILLed one;
    /// with a uid, also `--reuid/--regid --clear-groups`), then the <see cref="GroupLauncher"/> (its own process group,
    /// no controlling terminal, the shim's session) or, without one, `setsid` (its own session and process group). Each
    /// execs in place, so the runtime keeps the pid the shim started. Without setpriv (e.g. AWS base images) the shim is
    /// PID 1 of its container and the container's end takes the runtime with it. With a <see cref="Keeper"/> the whole
    /// line runs under it (`shim keeper --parent PID -- setpriv … -- program`): the runtime dies with its keeper, the
    /// keeper (and what the runtime left) with the hosting process.
    /// </summary>
    /// <remarks>
    /// Why not `setsid` everywhere: with sched_autogroup_enabled=1 (most desktop and many server kernels) each new session
    /// is its own CPU scheduling group, so 16 runtimes were 16 groups each weighing as much as the gateway and all shims
    /// together; under load that cost the data plane its latency (docs/runtime-shim.md, "The sandbox's scheduling").
    /// </remarks>
    /// <param name="searchPath">The runtime's PATH: with a keeper and a uid, a bare program name is looked up in it
    /// here, as the runtime's uid would (<see cref="FindAsUnprivileged"/>).</param>
    public (string File, List<string> Arguments, bool OwnGroup) Wrap(string file, IReadOnlyList<string> arguments, string? searchPath = null)
    {
        var command = new List<string>();
        if (Keeper is { Count: > 0 } keeper)
        {
            // Nothing execs between setpriv and the runtime here (sandbox-exec does in the other launches): setpriv looks
            // the program up on PATH while it still holds root's file access (the capabilities go at the exec), so an
            // entry only root can enter (e.g. /root/.pyenv/shims, first on a developer's PATH) would win and then fail
            // as the runtime's uid ("Permission denied", exit 126). The runtime's uid finds what it can run instead.
            if (RuntimeUid is not null && FnOperator.Sandboxing.ProcessTable.IsRoot && File.Exists(SetprivPath)
                && FindAsUnprivileged(file, searchPath) is { } found)
            {
                file = found;
            }

            // The keeper puts the runtime in a process group of its own (posix_spawn), so neither sandbox-exec nor setsid.
            command.AddRange(keeper);
            command.AddRange(["--parent", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "--"]);
        }

        if (File.Exists(SetprivPath))
        {
            command.AddRange([SetprivPath, "--pdeathsig", "KILL"]);
            if (RuntimeUid is { } uid && FnOperator.Sandboxing.ProcessTable.IsRoot)
            {
                command.AddRange([
                    "--reuid", uid.ToString(CultureInfo.InvariantCulture),
                    "--regid", (RuntimeGid ?? uid).ToString(CultureInfo.InvariantCulture),
                    "--clear-groups",
                ]);
            }

            command.Add("--");
        }

        var ownGroup = true;
        if (Keeper is { Count: > 0 })
        {
            // Its own group already (the keeper's posix_spawn).
        }
        else if (GroupLauncher is { Count: > 0 } launcher)
        {
            command.AddRange(launcher);
        }
        else if (File.Exists(RuntimeLaunch.SetsidPath))
        {
            command.Add(RuntimeLaunch.SetsidPath);
        }
        else
        {
            ownGroup = false;
        }

        command.Add(file);
        command.AddRange(arguments);
        return (command[0], command[1..], ownGroup);
    }

    /// <summary>
    /// Where execvp would find <paramref name="program"/> on <paramref name="searchPath"/> for a process running as
    /// the function's uid with no supplementary groups (setpriv's --clear-groups): every directory on the way, the
    /// link's target's included, searchable and the file executable by others (the uid is one local mode made up for
    /// the function, so it owns nothing on PATH and only the others' bits apply to it). Null for a name with a '/', an
    /// empty PATH, or when nothing is found (the launch then fails as it would have, with setpriv's own error).
    /// </summary>
    public static string? FindAsUnprivileged(string program, string? searchPath)
    {
        if (string.IsNullOrEmpty(program) || program.Contains('/', StringComparison.Ordinal) || string.IsNullOrEmpty(searchPath) || OperatingSystem.IsWindows())
        {
            return null;
        }

        foreach (var entry in searchPath.Split(':'))
        {
            var candidate = Path.GetFullPath(Path.Combine(entry.Length == 0 ? "." : entry, program));
            try
            {
                var file = new FileInfo(candidate);
                var target = file.LinkTarget is null ? file : file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo;
                if (file.Exists && target is { Exists: true } && OthersMaySearch(file.DirectoryName) && OthersMaySearch(target.DirectoryName)
                    && (target.UnixFileMode & UnixFileMode.OtherExecute) != 0)
                {
                    return candidate;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // unreadable or vanished: the next entry, as execvp goes on
            }
        }

        return null;
    }

    /// <summary>True when the folder and every folder above it can be searched (entered) by any user.</summary>
    public static bool OthersMaySearch(string? directory)
    {
        for (var dir = directory is null ? null : new DirectoryInfo(directory); dir is not null; dir = dir.Parent)
        {
            if (!dir.Exists || (dir.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }

        return directory is not null;
    }
}
