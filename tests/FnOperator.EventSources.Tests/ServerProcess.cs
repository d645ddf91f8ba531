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
        var p = port ?? FreePort();
        var d = dir ?? Directory.CreateTempSubdirectory("fnop-nats-").FullName;
        return StartAsync("/usr/sbin/nats-server", ["-js", "-a", "127.0.0.1", "-p", p.ToString(System.Globalization.CultureInfo.InvariantCulture), "-sd", d, .. extraArgs], p, d);
    }

    /// <summary>A nats-server without JetStream (a misconfigured source).</summary>
    public static Task<ServerProcess> NatsWithoutJetStreamAsync()
    {
        var p = FreePort();
        var d = Directory.CreateTempSubdirectory("fnop-nats-").FullName;
        return StartAsync("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", p.ToString(System.Globalization.CultureInfo.InvariantCulture)], p, d);
    }

    /// <param name="extraArgs">More redis-server arguments, e.g. <c>--requirepass</c>.</param>
    public static Task<ServerProcess> RedisAsync(params string[] extraArgs)
    {
        var p = FreePort();
        var d = Directory.CreateTempSubdirectory("fnop-redis-").FullName;
        return StartAsync("redis-server", ["--port", p.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", d, .. extraArgs], p, d);
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

    private static async Task<ServerProcess> StartAsync(string file, string[] args, int port, string dir)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                return new ServerProcess(process, port, dir);
            }
            catch (SocketException)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"{file} exited with {process.ExitCode}");
                }

                await Task.Delay(100).ConfigureAwait(false);
            }
        }

        process.Kill(true);
        throw new TimeoutException($"{file} did not listen on {port}");
    }
}
