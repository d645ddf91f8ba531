using System.Diagnostics;
using System.Text.RegularExpressions;

namespace FnOperator.Benchmarks.Gateway;

/// <summary>Local mode (gateway + in-process queue + shim pool) as its own process, serving one no-op node function.</summary>
internal sealed partial class EndToEndLocalMode : IAsyncDisposable
{
    public const string FunctionName = "bench-noop";
    private readonly Process process;
    private readonly string folder;
    private readonly TaskCompletionSource<string> endpoint = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int readyInstances;

    private EndToEndLocalMode(Process process, string folder)
    {
        this.process = process;
        this.folder = folder;
    }

    public string Endpoint { get; private set; } = "";

    /// <summary>Starts local mode with <paramref name="warm"/> provisioned (always warm) instances and waits until they are ready.</summary>
    public static async Task<EndToEndLocalMode> StartAsync(int warm, CancellationToken cancellationToken)
    {
        var root = RepositoryRoot();
        var gateway = Path.Combine(root, "operator", "FnOperator.Gateway", "bin", "Release", "net10.0", "FnOperator.Gateway.dll");
        var shim = Path.Combine(root, "runtime-shim", "FnOperator.RuntimeShim", "bin", "Release", "net10.0", "FnOperator.RuntimeShim.dll");
        var folder = Directory.CreateTempSubdirectory("fnop-bench-e2e-").FullName;
        Directory.CreateDirectory(Path.Combine(folder, "src"));
        await File.WriteAllTextAsync(Path.Combine(folder, "src", "index.js"), "exports.handler = async () => ({});\n", cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(folder, "function.yaml"), $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: {FunctionName}
            spec:
              runtime: nodejs22.x
              handler: index.handler
              code:
                path: src
              timeoutSeconds: 30
              concurrency:
                provisioned: {warm}
              scaling:
                maxReplicas: {warm}
            """, cancellationToken);

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { gateway, "local", "--functions", folder, "--listen", "127.0.0.1:0", "--shim", shim, "--instances", "process" })
        {
            info.ArgumentList.Add(arg);
        }

        var local = new EndToEndLocalMode(new Process { StartInfo = info }, folder);
        local.process.OutputDataReceived += (_, e) => local.OnLine(e.Data);
        local.process.ErrorDataReceived += (_, e) => local.OnLine(e.Data);
        local.process.Start();
        local.process.BeginOutputReadLine();
        local.process.BeginErrorReadLine();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        local.Endpoint = await local.endpoint.Task.WaitAsync(timeout.Token);
        while (Volatile.Read(ref local.readyInstances) < warm)
        {
            await Task.Delay(100, timeout.Token);
        }

        return local;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
            using var wait = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        process.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    private static string RepositoryRoot()
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

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (EndpointLine().Match(line) is { Success: true } m)
        {
            endpoint.TrySetResult(m.Groups[1].Value);
        }
        else if (line.StartsWith($"[{FunctionName}] instance pid ", StringComparison.Ordinal) && line.Contains(" ready ", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref readyInstances);
        }
    }

    [GeneratedRegex(@"Lambda Invoke API on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex EndpointLine();
}
