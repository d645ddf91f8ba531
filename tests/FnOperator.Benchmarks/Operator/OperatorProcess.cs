using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace FnOperator.Benchmarks.Operator;

/// <summary>
/// The real operator executable (FnOperator.Operator.dll) as a child process, pointed at an API server through a
/// kubeconfig file, so its memory is its own: peak resident set (VmHWM) from /proc and the managed heap from /metrics.
/// </summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly string kubeconfig;

    private OperatorProcess(Process process, string kubeconfig, Uri url)
    {
        this.process = process;
        this.kubeconfig = kubeconfig;
        Url = url;
    }

    public Uri Url { get; }

    public static OperatorProcess Start(Uri apiServer)
    {
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"fnop-bench-{Guid.NewGuid():N}.kubeconfig");
        File.WriteAllText(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: standin
              cluster:
                server: "{apiServer.ToString().TrimEnd('/')}"
            users:
            - name: bench
              user:
                token: bench-token
            contexts:
            - name: bench
              context:
                cluster: standin
                user: bench
                namespace: default
            current-context: bench
            """);
        var url = new Uri($"http://127.0.0.1:{FreePort()}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // FNOP_BENCH_OPERATOR_DLL measures another build of the operator, e.g. the image's ReadyToRun publish output.
        var dll = Environment.GetEnvironmentVariable("FNOP_BENCH_OPERATOR_DLL") is { Length: > 0 } other
            ? other
            : Path.Combine(AppContext.BaseDirectory, "FnOperator.Operator.dll");
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(url.ToString());
        start.Environment["KUBECONFIG"] = kubeconfig;
        start.Environment["POD_NAMESPACE"] = "fn-system";
        start.Environment["POD_NAME"] = "operator-bench";
        start.Environment["Logging__LogLevel__Default"] = "Warning";

        // What the image and the chart set (operator/Dockerfile.operator), so the benchmark measures what ships;
        // a value already in the environment wins, so other settings can be measured.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_GCgen0size")))
        {
            start.Environment["DOTNET_GCgen0size"] = "0x400000";
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the operator");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine("   operator: " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new OperatorProcess(process, kubeconfig, url);
    }

    public bool HasExited => process.HasExited;

    /// <summary>Peak resident set size of the operator process so far (VmHWM), in MiB.</summary>
    public double PeakResidentMiB() => StatusKiB("VmHWM:") / 1024.0;

    public double ResidentMiB() => StatusKiB("VmRSS:") / 1024.0;

    /// <summary>Resident memory split into anonymous (heaps, JIT code) and file-backed (mapped assemblies, libraries), in MiB.</summary>
    public (double Anonymous, double FileBacked) ResidentSplitMiB()
    {
        var fields = File.ReadLines($"/proc/{process.Id}/status")
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1].Trim().Split(' ')[0], StringComparer.Ordinal);
        double Kib(string name) => fields.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : 0;
        return (Kib("RssAnon") / 1024.0, (Kib("RssFile") + Kib("RssShmem")) / 1024.0);
    }

    /// <summary>CPU time (user + system) the operator process has used so far.</summary>
    public TimeSpan CpuTime()
    {
        process.Refresh();
        return process.TotalProcessorTime;
    }

    private double StatusKiB(string field)
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return double.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
        File.Delete(kubeconfig);
    }
}
