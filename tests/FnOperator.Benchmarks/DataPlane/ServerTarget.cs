using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace FnOperator.Benchmarks.DataPlane;

/// <summary>
/// One server under load: a process (and its descendants) started by the benchmark, ready when a line of its output
/// matches, then POSTed to at <see cref="Url"/>.
/// </summary>
internal sealed class ServerTarget : IAsyncDisposable
{
    private readonly Process process;
    private readonly TaskCompletionSource<Match> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Regex readyLine;
    private readonly StringBuilder output = new();
    private readonly Func<string, bool>? countLine;
    private int counted;

    private ServerTarget(string name, ProcessStartInfo info, Regex readyLine, Func<string, bool>? countLine)
    {
        Name = name;
        this.readyLine = readyLine;
        this.countLine = countLine;
        process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
    }

    public string Name { get; }

    public string Url { get; private set; } = "";

    public int Pid => process.Id;

    /// <summary>Lines seen that <c>countLine</c> accepted (local mode: instances that reported ready).</summary>
    public int Counted => Volatile.Read(ref counted);

    /// <summary>From the process start to the ready line.</summary>
    public TimeSpan StartedIn { get; private set; }

    /// <summary>
    /// Starts <paramref name="file"/> and waits for <paramref name="readyLine"/>; <paramref name="url"/> turns its match
    /// into the URL to POST to.
    /// </summary>
    public static async Task<ServerTarget> StartAsync(
        string name, string file, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string> environment,
        Regex readyLine, Func<Match, string> url, CancellationToken cancellationToken, Func<string, bool>? countLine = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var target = new ServerTarget(name, info, readyLine, countLine);
        var clock = Stopwatch.StartNew();
        target.process.Start();
        target.process.BeginOutputReadLine();
        target.process.BeginErrorReadLine();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        try
        {
            var match = await target.ready.Task.WaitAsync(timeout.Token);
            target.StartedIn = clock.Elapsed;
            target.Url = url(match);
        }
        catch (OperationCanceledException)
        {
            await target.DisposeAsync();
            throw new InvalidOperationException($"{name} did not report ready in 3 min; output:\n{target.Output}");
        }

        return target;
    }

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        var tree = ProcTree.Sample(process.Id).Select(p => p.Pid).ToList();
        if (!process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        // Runtimes a target leaves behind (serverless-offline's workers, fun's pool) go with it.
        foreach (var pid in tree.Skip(1))
        {
            try
            {
                Process.GetProcessById(pid).Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        }

        process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            if (output.Length < 64 * 1024)
            {
                output.AppendLine(line);
            }
        }

        if (readyLine.Match(line) is { Success: true } m)
        {
            ready.TrySetResult(m);
        }

        if (countLine?.Invoke(line) == true)
        {
            Interlocked.Increment(ref counted);
        }
    }
}
