using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// Local mode as users run it: <c>dotnet FnOperator.Gateway.dll local --functions &lt;path&gt; --listen 127.0.0.1:0</c>,
/// with every output line collected for assertions.
/// </summary>
public sealed partial class LocalModeProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly Process process;
    private readonly List<string> lines = [];
    private readonly HashSet<string> outputPipes = [];
    private string? stateFolder;
    private readonly TaskCompletionSource<string> started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LocalModeProcess(Process process) => this.process = process;

    public string Endpoint { get; private set; } = "";

    public int ProcessId => process.Id;

    public bool HasExited => process.HasExited;

    public string Output
    {
        get
        {
            lock (lines)
            {
                return string.Join('\n', lines);
            }
        }
    }

    public static Task<LocalModeProcess> StartAsync(string functions, params string[] extraArgs) =>
        StartAsync(functions, new Dictionary<string, string>(), extraArgs);

    /// <param name="environment">Variables added to local mode's environment (e.g. FNOP_* settings its shims read).</param>
    public static async Task<LocalModeProcess> StartAsync(string functions, IReadOnlyDictionary<string, string> environment, params string[] extraArgs)
    {
        Assert.True(File.Exists(RepoPaths.GatewayDll), $"gateway not built: {RepoPaths.GatewayDll}");
        Assert.True(File.Exists(RepoPaths.ShimDll), $"runtime-shim not built: {RepoPaths.ShimDll}");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var arg in new[] { RepoPaths.GatewayDll, "local", "--functions", functions, "--listen", "127.0.0.1:0" }.Concat(extraArgs))
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["FNOP_SHIM_DLL"] = RepoPaths.ShimDll;
        // Published versions and aliases live in a state folder of this run, not the user's ~/.local/state (shared by
        // every local mode, a developer's `make run` included); a test that checks them passes its own.
        var state = environment.ContainsKey("FNOP_LOCAL_STATE") ? null : Directory.CreateTempSubdirectory("fnop-test-state-").FullName;
        if (state is not null)
        {
            info.Environment["FNOP_LOCAL_STATE"] = state;
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var local = new LocalModeProcess(new Process { StartInfo = info, EnableRaisingEvents = true }) { stateFolder = state };
        local.process.OutputDataReceived += (_, e) => local.OnLine(e.Data);
        local.process.ErrorDataReceived += (_, e) => local.OnLine(e.Data);
        local.process.Exited += (_, _) => local.started.TrySetException(new InvalidOperationException("local mode exited during start"));
        local.process.Start();
        foreach (var fd in new[] { 1, 2 })
        {
            if (new FileInfo($"/proc/{local.process.Id}/fd/{fd}").LinkTarget is { } pipe)
            {
                local.outputPipes.Add(pipe); // "pipe:[inode]", the same in every process holding it
            }
        }

        local.process.StandardInput.Close();
        local.process.BeginOutputReadLine();
        local.process.BeginErrorReadLine();
        try
        {
            local.Endpoint = await local.started.Task.WaitAsync(StartTimeout);
        }
        catch (Exception e)
        {
            var output = local.Output;
            await local.DisposeAsync();
            throw new InvalidOperationException($"local mode did not start ({e.Message}); output:\n{output}", e);
        }

        return local;
    }

    /// <summary>Waits until an output line matches; returns it.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            lock (lines)
            {
                var found = lines.FirstOrDefault(match);
                if (found is not null)
                {
                    return found;
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no matching output line within {timeout.TotalSeconds} s; output:\n{Output}");
    }

    public IReadOnlyList<string> Lines(Func<string, bool> match)
    {
        lock (lines)
        {
            return lines.Where(match).ToList();
        }
    }

    /// <summary>Sends SIGTERM (as Ctrl-C/`kill` would) and waits for the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        await WaitForExitAndOutputAsync(timeout);
        return process.ExitCode;
    }

    /// <summary>Sends SIGINT, as Ctrl-C in a terminal does; does not wait.</summary>
    public async Task InterruptAsync()
    {
        using var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    /// <summary>Waits for local mode to exit on its own; returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await WaitForExitAndOutputAsync(timeout);
        return process.ExitCode;
    }

    // Process.WaitForExitAsync also waits for the end of the redirected output: a child that kept local mode's stdout or
    // stderr would hold it open. On a timeout, say which of the two it was and who holds the pipes.
    private async Task WaitForExitAndOutputAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException(
                $"local mode (pid {process.Id}) {(process.HasExited ? "exited but its output pipes are still open" : "has not exited")} after {timeout.TotalSeconds} s; " +
                $"holders of its stdout/stderr: {PipeHolders()}\n{Threads()}output:\n{Output}");
        }
    }

    // Each thread's name, state and kernel wait channel: a hang (threads asleep in futex_wait) from a slow exit.
    private string Threads()
    {
        try
        {
            var text = new System.Text.StringBuilder("threads:\n");
            foreach (var task in Directory.EnumerateDirectories($"/proc/{process.Id}/task"))
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
                text.Append(CultureInfo.InvariantCulture, $"  {Path.GetFileName(task)} {File.ReadAllText(Path.Combine(task, "comm")).Trim()} {state} {File.ReadAllText(Path.Combine(task, "wchan")).Trim()}\n");
            }

            return text.ToString();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ""; // exited meanwhile
        }
    }

    private string PipeHolders()
    {
        var holders = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                if (Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")).Select(fd => new FileInfo(fd).LinkTarget).Any(t => t is not null && outputPipes.Contains(t)))
                {
                    holders.Add($"{pid} ({File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim()})");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours.
            }
        }

        return holders.Count == 0 ? "none" : string.Join("; ", holders);
    }

    /// <summary>Runs local mode with these arguments until it exits by itself (a start that fails); returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunToExitAsync(TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = RepoPaths.Root };
        foreach (var arg in new[] { RepoPaths.GatewayDll, "local" }.Concat(args))
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["FNOP_SHIM_DLL"] = RepoPaths.ShimDll;
        var state = Directory.CreateTempSubdirectory("fnop-test-state-").FullName;
        info.Environment["FNOP_LOCAL_STATE"] = state;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return (process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            DeleteState(state);
        }
    }

    /// <summary>SIGKILL to local mode alone (not its children), as an OOM kill or `kill -9` would; waits for it to exit.</summary>
    public async Task KillAloneAsync(TimeSpan timeout)
    {
        process.Kill(entireProcessTree: false);
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
        DeleteState(stateFolder);
    }

    private static void DeleteState(string? folder)
    {
        try
        {
            if (folder is not null)
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temp folder.
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (lines)
        {
            lines.Add(line);
        }

        var endpoint = EndpointLine().Match(line);
        if (endpoint.Success)
        {
            Endpoint = endpoint.Groups[1].Value;
        }

        if (line.StartsWith("Instances start on the first invoke", StringComparison.Ordinal))
        {
            started.TrySetResult(Endpoint);
        }
    }

    [GeneratedRegex(@"Lambda Invoke API on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex EndpointLine();
}
