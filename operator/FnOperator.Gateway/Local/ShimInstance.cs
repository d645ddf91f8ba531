using System.Diagnostics;
using System.Runtime.InteropServices;
using FnOperator.Sandboxing;

namespace FnOperator.Gateway.Local;

/// <summary>How to start the runtime-shim for one function: the shim DLL, the dotnet host, and the environment.</summary>
public sealed record ShimLaunch(string DotnetHost, string ShimDll, string Label, IReadOnlyDictionary<string, string> Environment);

/// <summary>
/// One runtime-shim process (which supervises the function's runtime as its child). Output is forwarded with the
/// function's prefix; <see cref="Ready"/> completes with the shim's runtime API address once it prints
/// <c>FNOP_SHIM_LISTENING</c>. Stopping sends SIGTERM so the shim drains, then kills the whole tree after a grace period.
/// </summary>
public sealed partial class ShimInstance : IFunctionInstance
{
    public const string ListeningMarker = "FNOP_SHIM_LISTENING";

    private readonly Process process;
    private readonly TaskCompletionSource<string> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ShimInstance(Process process, DateTimeOffset startedAt)
    {
        this.process = process;
        StartedAt = startedAt;
    }

    public int ProcessId => process.Id;

    public string Name => $"pid {process.Id}";

    public DateTimeOffset StartedAt { get; }

    public bool Stopping { get; private set; }

    /// <summary>The runtime API address the shim listens on, once it is listening.</summary>
    public Task<string> Ready => ready.Task;

    /// <summary>Completes with the exit code when the process has exited.</summary>
    public Task<int> Exited => exited.Task;

    public static ShimInstance Start(ShimLaunch launch, ProcessOutput output, DateTimeOffset now)
    {
        // A Native AOT shim (`make shim-aot`) is an executable of its own; the JIT build is a DLL the dotnet host runs.
        var native = ShimLocator.IsNative(launch.ShimDll);
        var info = new ProcessStartInfo(native ? launch.ShimDll : launch.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (!native)
        {
            info.ArgumentList.Add(launch.ShimDll);
        }

        info.Environment.Clear();
        foreach (var (key, value) in LocalSandbox.ShimEnvironment(launch.Environment, launch.ShimDll, Environment.GetEnvironmentVariables()))
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var instance = new ShimInstance(process, now);
        process.OutputDataReceived += (_, e) => instance.OnLine(e.Data, launch.Label, output);
        process.ErrorDataReceived += (_, e) => instance.OnLine(e.Data, launch.Label, output);
        process.Exited += (_, _) => instance.OnExited();
        ProcessSandbox.Start(process);
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return instance;
    }

    /// <summary>Asks the shim to drain and stop (SIGTERM); kills the process tree if it has not exited after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        Stopping = true;
        if (exited.Task.IsCompleted)
        {
            return;
        }

        if (SendSignal(process.Id, SigTerm) != 0)
        {
            Kill();
        }

        try
        {
            await exited.Task.WaitAsync(grace, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            Kill();
            await exited.Task.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!exited.Task.IsCompleted)
        {
            Kill();
            await exited.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        process.Dispose();
    }

    private void Kill()
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private void OnLine(string? line, string label, ProcessOutput output)
    {
        if (line is null)
        {
            return;
        }

        if (!ready.Task.IsCompleted && line.StartsWith(ListeningMarker, StringComparison.Ordinal))
        {
            var api = line.Split(' ').FirstOrDefault(p => p.StartsWith("runtime-api=", StringComparison.Ordinal))?["runtime-api=".Length..] ?? "";
            ready.TrySetResult(api);
            output.Prefixed(label, $"instance pid {process.Id} ready ({line[ListeningMarker.Length..].Trim()})");
            return;
        }

        output.Prefixed(label, line);
    }

    private void OnExited()
    {
        // Give the redirected output a moment to drain, but never hang on a pipe a leftover grandchild still holds.
        process.WaitForExit(5000);
        var code = process.ExitCode;

        // The shim's runtime dies with it (PR_SET_PDEATHSIG); anything the runtime left behind was re-parented to local
        // mode (a subreaper) and dies here.
        ProcessSandbox.Untrack(process.Id);
        ProcessSandbox.KillOrphans();
        ready.TrySetException(new InvalidOperationException($"runtime-shim exited with code {code} before it was listening"));
        _ = ready.Task.Exception; // observed: a shim that never became ready is reported through Exited
        exited.TrySetResult(code);
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
