using System.Diagnostics;
using System.Text.RegularExpressions;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>The shim as a real process (dotnet FnOperator.RuntimeShim.dll), with its stdout collected line by line.</summary>
public sealed partial class ShimProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartWait = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Text.StringBuilder _stderr = new();

    private ShimProcess(Process process) => _process = process;

    public string RuntimeApi { get; private set; } = "";

    public string Http { get; private set; } = "";

    public int Pid => _process.Id;

    public Task<int> Exited => _process.WaitForExitAsync().ContinueWith(_ => _process.ExitCode, TaskScheduler.Default);

    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public string Errors
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static async Task<ShimProcess> StartAsync(IReadOnlyDictionary<string, string> environment, bool waitForListening = true)
    {
        // FNOP_TEST_SHIM runs these tests against another build of the shim, e.g. the Native AOT binary of `make shim-aot`.
        var native = Environment.GetEnvironmentVariable("FNOP_TEST_SHIM") is { Length: > 0 } other ? other : null;
        var info = new ProcessStartInfo(native ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (native is null)
        {
            info.ArgumentList.Add(Path.Combine(Repo.ShimDirectory, "FnOperator.RuntimeShim.dll"));
        }

        info.Environment["FNOP_RUNTIME_API_ADDRESS"] = "127.0.0.1:0";
        info.Environment["FNOP_HTTP_ADDRESS"] = "127.0.0.1:0";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var shim = new ShimProcess(Process.Start(info)!);
        shim._process.OutputDataReceived += (_, e) => shim.OnLine(e.Data);
        shim._process.ErrorDataReceived += (_, e) =>
        {
            lock (shim._stderr)
            {
                shim._stderr.AppendLine(e.Data);
            }
        };
        shim._process.BeginOutputReadLine();
        shim._process.BeginErrorReadLine();
        if (waitForListening)
        {
            var line = await shim._listening.Task.WaitAsync(StartWait);
            var match = ListeningLine().Match(line);
            shim.RuntimeApi = match.Groups[1].Value;
            shim.Http = match.Groups[2].Value;
        }

        return shim;
    }

    /// <summary>Waits (generously) until a stdout line satisfies <paramref name="predicate"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            lock (_lines)
            {
                if (_lines.FirstOrDefault(predicate) is { } line)
                {
                    return line;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No matching line in the shim's output:\n{Output}\nstderr:\n{Errors}");
    }

    public void Terminate() => Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
        }

        if (line.StartsWith("FNOP_SHIM_LISTENING ", StringComparison.Ordinal))
        {
            _listening.TrySetResult(line);
        }
    }

    [GeneratedRegex(@"^FNOP_SHIM_LISTENING runtime-api=(\S+) http=(\S+)$")]
    private static partial Regex ListeningLine();
}

/// <summary>Paths in the repository, found by walking up to the folder holding FnOperator.sln.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Configuration { get; } = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";

    public static string ShimDirectory { get; } = Path.Combine(Root, "runtime-shim", "FnOperator.RuntimeShim", "bin", Configuration, "net10.0");

    public static string NodeModules { get; } = Path.Combine(Root, "tests", "node", "node_modules");

    /// <summary>The build output of tests/FnOperator.DotnetFunctions: the task root of the .NET runtime's tests.</summary>
    public static string DotnetFunctions { get; } = Path.Combine(Root, "tests", "FnOperator.DotnetFunctions", "bin", Configuration, "net8.0");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FnOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("FnOperator.sln not found above " + AppContext.BaseDirectory);
    }
}
