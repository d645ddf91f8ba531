namespace FnOperator.RuntimeShim;

/// <summary>
/// The search paths Lambda sets for layers, rooted at the function's merged layers (<see cref="ShimOptions.LayersRoot"/>:
/// /opt in a pod, a per-function directory in local mode). Set where the runtime's environment is built, after the
/// inherited variables are taken over, so whatever filtering happens before cannot drop them:
/// <list type="bullet">
/// <item>nodejs&lt;N&gt;.x: NODE_PATH = root/nodejs/node&lt;N&gt;/node_modules:root/nodejs/node_modules:$LAMBDA_RUNTIME_DIR/node_modules:$LAMBDA_RUNTIME_DIR:$LAMBDA_TASK_ROOT</item>
/// <item>python3.X: PYTHONPATH = $LAMBDA_TASK_ROOT:root/python/lib/python3.X/site-packages:root/python</item>
/// <item>every runtime: root/bin last on PATH, root/lib last on LD_LIBRARY_PATH (Lambda's order).</item>
/// </list>
/// A NODE_PATH or PYTHONPATH the function sets itself wins, as in Lambda.
/// </summary>
public static class LayerEnvironment
{
    /// <summary>Lambda's PATH and LD_LIBRARY_PATH before the layer entries, for an environment that has none.</summary>
    public const string DefaultPath = "/usr/local/bin:/usr/bin/:/bin";

    public const string DefaultLibraryPath = "/lib64:/usr/lib64";

    public static void Apply(Dictionary<string, string> env, ShimOptions options)
    {
        var root = options.LayersRoot.TrimEnd('/');
        if (root.Length == 0)
        {
            root = "/";
        }

        var runtimeDir = env.TryGetValue("LAMBDA_RUNTIME_DIR", out var dir) ? dir : options.BootstrapDirectory;
        var runtime = options.Runtime;
        if (runtime.StartsWith("nodejs", StringComparison.Ordinal) && NodeMajor(runtime) is { } major)
        {
            env.TryAdd("NODE_PATH", string.Join(':',
                $"{root}/nodejs/node{major}/node_modules", $"{root}/nodejs/node_modules", $"{runtimeDir}/node_modules", runtimeDir, options.TaskRoot));
        }

        if (runtime.StartsWith("python3.", StringComparison.Ordinal))
        {
            env.TryAdd("PYTHONPATH", string.Join(':', options.TaskRoot, $"{root}/python/lib/{runtime}/site-packages", $"{root}/python"));
        }

        env["PATH"] = AppendOnce(env.TryGetValue("PATH", out var path) ? path : DefaultPath, $"{root}/bin");
        env["LD_LIBRARY_PATH"] = AppendOnce(env.TryGetValue("LD_LIBRARY_PATH", out var lib) ? lib : DefaultLibraryPath, $"{root}/lib");
    }

    /// <summary>"22" of nodejs22.x.</summary>
    public static string? NodeMajor(string runtime)
    {
        var digits = new string([.. runtime["nodejs".Length..].TakeWhile(char.IsAsciiDigit)]);
        return digits.Length > 0 ? digits : null;
    }

    private static string AppendOnce(string list, string entry) =>
        list.Split(':').Contains(entry, StringComparer.Ordinal) ? list : list.Length == 0 ? entry : $"{list}:{entry}";
}
