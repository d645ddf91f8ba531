using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FnOperator.EventSources.Tests;

/// <summary>A real server process (nats-server, redis-server) on 127.0.0.1 and a free port, stopped and cleaned up on dispose.
/// Also compiled into FnOperator.Operator.Tests (linked), for the EventSourceMapping tests there.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process process;

    private ServerProcess(Process process, int port, string dir)
    {
        this.process = process;
        Port = port;
        Dir = dir;
    }

    public int Port { get; }

    public string Dir { get; }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <param name="extraArgs">More nats-server arguments, e.g. <c>--user</c>/<c>--pass</c> or <c>--auth</c>.</param>
    public static Task<ServerProcess> NatsAsync(int? port = null, string? dir = null, params string[] extraArgs)
    {
        var d = dir ?? Directory.CreateTempSubdirectory("fnop-nats-").FullName;
        return StartAsync("/usr/sbin/nats-server", p => ["-js", "-a", "127.0.0.1", "-p", P(p), "-sd", d, .. extraArgs], port, d, NatsReady);
    }

    /// <summary>A nats-server without JetStream (a misconfigured source).</summary>
    public static Task<ServerProcess> NatsWithoutJetStreamAsync()
    {
        var d = Directory.CreateTempSubdirectory("fnop-nats-").FullName;
        return StartAsync("/usr/sbin/nats-server", p => ["-a", "127.0.0.1", "-p", P(p)], null, d, NatsReady);
    }

    /// <param name="extraArgs">More redis-server arguments, e.g. <c>--requirepass</c>.</param>
    public static Task<ServerProcess> RedisAsync(params string[] extraArgs)
    {
        var d = Directory.CreateTempSubdirectory("fnop-redis-").FullName;
        return StartAsync("redis-server", p => ["--port", P(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", d, .. extraArgs], null, d, "Ready to accept connections");
    }

    public string NatsUrl => $"nats://127.0.0.1:{Port}";

    public string RedisUrl => $"redis://127.0.0.1:{Port}";

    /// <summary>Stops the server (keeping its data directory) so a test can start it again.</summary>
    public async Task StopAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        process.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private const string NatsReady = "Server is ready";

    private static string P(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Starts the server and waits (up to 60 s) until it printed its ready line and its port answers. A free port found
    /// by <see cref="FreePort"/> can be taken by another process (other test classes and projects run alongside) before
    /// the server binds it: the server then exits, and it is started again on another free port (unless the caller chose
    /// the port). Waiting for the server's own ready line, not only for the port to answer, means a foreign listener on
    /// the port is never mistaken for this server.
    /// </summary>
    private static async Task<ServerProcess> StartAsync(string file, Func<int, string[]> args, int? fixedPort, string dir, string readyLine)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = fixedPort ?? FreePort();
            var (process, exitedEarly) = await TryStartAsync(file, args(port), port, readyLine).ConfigureAwait(false);
            if (process is not null)
            {
                return new ServerProcess(process, port, dir);
            }

            if (fixedPort is not null || attempt == 3)
            {
                throw new InvalidOperationException($"{file} on port {port}: {exitedEarly}");
            }
        }
    }

    private static async Task<(Process? Process, string Failure)> TryStartAsync(string file, string[] args, int port, string readyLine)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tail = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            if (line.Contains(readyLine, StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }

            tail.Enqueue(line);
            while (tail.Count > 20 && tail.TryDequeue(out _))
            {
            }
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync().ConfigureAwait(false); // the output read to its end
                process.Dispose();
                return (null, $"exited before it was ready: {string.Join(" | ", tail)}");
            }

            if (ready.Task.IsCompleted)
            {
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                    return (process, "");
                }
                catch (SocketException)
                {
                }
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        process.Kill(true);
        throw new TimeoutException($"{file} did not get ready on {port} in 60 s: {string.Join(" | ", tail)}");
    }
}
