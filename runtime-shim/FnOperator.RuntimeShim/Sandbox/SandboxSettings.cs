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
        };
    }

    /// <summary>
    /// Wraps the runtime's command line: `setpriv --pdeathsig KILL` (the runtime dies with the shim, even a SIGKILLed one;
    /// with a uid, also `--reuid/--regid --clear-groups`), then `setsid` (its own session and process group). Each execs in
    /// place, so the runtime keeps the pid the shim started. Without setpriv (e.g. AWS base images) the shim is PID 1 of
    /// its container and the container's end takes the runtime with it.
    /// </summary>
    public (string File, List<string> Arguments, bool OwnGroup) Wrap(string file, IReadOnlyList<string> arguments)
    {
        var command = new List<string>();
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

        var ownGroup = File.Exists(RuntimeLaunch.SetsidPath);
        if (ownGroup)
        {
            command.Add(RuntimeLaunch.SetsidPath);
        }

        command.Add(file);
        command.AddRange(arguments);
        return (command[0], command[1..], ownGroup);
    }
}
