using System.Collections;
using System.Globalization;
using FnOperator.Sandboxing;

namespace FnOperator.Gateway.Local;

/// <summary>
/// What local mode gives each shim so its runtime gets a clean Lambda environment and, where the OS allows, its own uid.
/// The shim starts from a minimal host environment (not the shell's); the function's own variables are named in
/// FNOP_FUNCTION_ENV so the shim passes exactly those on; host variables reach the runtime only when listed in
/// FNOP_PASS_ENV (the opt-in, e.g. <c>FNOP_PASS_ENV=AWS_PROFILE,HOME make run</c>). Running as root (and with setpriv),
/// each function's runtimes run as a uid of their own, so one function cannot read another's /proc/&lt;pid&gt;/environ;
/// FNOP_LOCAL_ISOLATION=none turns that off.
/// </summary>
public static class LocalSandbox
{
    public const string PassEnvVariable = "FNOP_PASS_ENV";
    public const string IsolationVariable = "FNOP_LOCAL_ISOLATION";

    /// <summary>What the shim process itself needs from the host (the dotnet host, temp files, locale).</summary>
    private static readonly string[] ShimHostVariables = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "DOTNET_ROOT", "DOTNET_CLI_HOME"];
    private static readonly Dictionary<string, int> Uids = new(StringComparer.Ordinal);

    /// <summary>The first uid local mode hands out: 200000 + 100 per local-mode process (by pid), one per function.</summary>
    public static int UidBase { get; } = 200_000 + (Environment.ProcessId % 10_000 * 100);

    /// <summary>The shim's whole environment: a minimal host set, the opted-in host variables, the launch's contract and function variables.</summary>
    public static Dictionary<string, string> ShimEnvironment(IReadOnlyDictionary<string, string> launch, string shimDll, IDictionary host)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ArgumentNullException.ThrowIfNull(host);
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var passed = Names(host[PassEnvVariable] as string);
        foreach (DictionaryEntry entry in host)
        {
            if (entry.Key is string key && entry.Value is string value && !InlineIo.SetHere.Contains(key)
                && (ShimHostVariables.Contains(key) || passed.Contains(key) || key.StartsWith("DOTNET_", StringComparison.Ordinal) || key.StartsWith("FNOP_", StringComparison.Ordinal)))
            {
                env[key] = value;
            }
        }

        foreach (var (key, value) in launch)
        {
            env[key] = value;
        }

        env.TryAdd("FNOP_FUNCTION_ENV", string.Join(',', launch.Keys.Where(k => !k.StartsWith("FNOP_", StringComparison.Ordinal))));
        env[PassEnvVariable] = string.Join(',', passed);
        if (RuntimeUid(launch, shimDll, host) is { } uid)
        {
            env["FNOP_RUNTIME_UID"] = uid.ToString(CultureInfo.InvariantCulture);
            env["FNOP_RUNTIME_GID"] = uid.ToString(CultureInfo.InvariantCulture);
        }

        return env;
    }

    /// <summary>
    /// The uid for the function's runtimes: one per function (namespace/name), when local mode runs as root, setpriv
    /// exists, isolation is not turned off, and the code and the shim's bootstraps are readable by other users.
    /// </summary>
    public static int? RuntimeUid(IReadOnlyDictionary<string, string> launch, string shimDll, IDictionary host)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ArgumentNullException.ThrowIfNull(host);
        if (!ProcessTable.IsRoot || !File.Exists("/usr/bin/setpriv") || string.Equals(host[IsolationVariable] as string, "none", StringComparison.OrdinalIgnoreCase)
            || !OthersCanRead(launch.GetValueOrDefault("LAMBDA_TASK_ROOT")) || !OthersCanRead(Path.GetDirectoryName(Path.GetFullPath(shimDll))))
        {
            return null;
        }

        var function = $"{launch.GetValueOrDefault("FNOP_FUNCTION_NAMESPACE")}/{launch.GetValueOrDefault("AWS_LAMBDA_FUNCTION_NAME")}";
        lock (Uids)
        {
            if (!Uids.TryGetValue(function, out var uid))
            {
                Uids[function] = uid = UidBase + (Uids.Count % 100);
            }

            return uid;
        }
    }

    /// <summary>True when the folder is readable and every folder above it searchable by any user.</summary>
    public static bool OthersCanRead(string? path)
    {
        if (string.IsNullOrEmpty(path) || !Directory.Exists(path) || OperatingSystem.IsWindows())
        {
            return false;
        }

        var dir = Path.GetFullPath(path);
        return (File.GetUnixFileMode(dir) & UnixFileMode.OtherRead) != 0 && FnOperator.RuntimeShim.SandboxSettings.OthersMaySearch(dir);
    }

    private static HashSet<string> Names(string? list) =>
        new((list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);
}
