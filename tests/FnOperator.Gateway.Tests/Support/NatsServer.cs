using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FnOperator.Gateway.Queue.JetStream;

namespace FnOperator.Gateway.Tests.Support;

/// <summary>
/// A real <c>nats-server -js</c> (Debian package nats-server) on 127.0.0.1:&lt;free port&gt; with file storage in a temp
/// dir, started by the tests. <see cref="Shared"/> is one server for the whole test run (each gateway gets its own
/// stream and subjects, so tests do not see each other); tests that kill or restart the server start their own.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/nats-server";
    private static readonly Lazy<Task<NatsServer>> SharedServer = new(() => StartAsync());
    private readonly string _dir;
    private Process? _process;

    private NatsServer(string dir, int port)
    {
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>The run's shared server (killed when the test process exits).</summary>
    public static Task<NatsServer> Shared => SharedServer.Value;

    public static async Task<NatsServer> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("fnop-nats-").FullName;
        var server = new NatsServer(dir, FreePort());
        // Sync payloads and results are up to 6 MB (Lambda's limit); the server's default max_payload is 1 MB.
        await File.WriteAllTextAsync(Path.Combine(dir, "nats.conf"), "max_payload: 8MB\n").ConfigureAwait(false);
        await server.StartProcessAsync().ConfigureAwait(false);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Kill();
        return server;
    }

    /// <summary>Options for a gateway on this server with a stream and subjects of its own.</summary>
    public JetStreamOptions Options(string? name = null)
    {
        var id = name ?? Guid.NewGuid().ToString("N")[..12];
        return new JetStreamOptions
        {
            Url = Url,
            Stream = $"T{id}",
            SubjectPrefix = $"t{id}.inv",
            WorkPrefix = $"t{id}.work",
            DestinationStream = $"D{id}",
            DestinationPrefix = $"t{id}.dest",
            StatsInterval = TimeSpan.FromMilliseconds(100),
            MaxConsumerAckWait = TimeSpan.FromSeconds(30),
            // The test's gateway and server share one clock.
            ClockTolerance = TimeSpan.Zero,
        };
    }

    /// <summary>kill -9, as a crash (the storage stays).</summary>
    public void Kill()
    {
        try
        {
            _process?.Kill(entireProcessTree: true);
            _process?.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Starts the server again on the same port and storage (after <see cref="Kill"/>).</summary>
    public Task RestartAsync()
    {
        Kill();
        return StartProcessAsync();
    }

    private async Task StartProcessAsync()
    {
        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList = { "-js", "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-sd", Path.Combine(_dir, "js"), "-c", Path.Combine(_dir, "nats.conf") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("nats-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60); // a fresh, loaded CI machine
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
