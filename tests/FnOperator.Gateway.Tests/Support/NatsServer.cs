using System.Diagnostics;
using FnOperator.Gateway.Queue.JetStream;

namespace FnOperator.Gateway.Tests.Support;

/// <summary>
/// A real <c>nats-server -js</c> (Debian package nats-server) on 127.0.0.1 with file storage in a temp dir, started by
/// the tests. The first start lets the server pick its port (<c>-p -1</c>) and reads it from its log, so no other
/// process can take the port between choosing and binding it; a restart binds the same port again. <see cref="Shared"/> is one server for the whole test run (each gateway gets its own
/// stream and subjects, so tests do not see each other); tests that kill or restart the server start their own.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/nats-server";
    private static readonly Lazy<Task<NatsServer>> SharedServer = new(() => StartAsync());
    private readonly string _dir;
    private Process? _process;

    private NatsServer(string dir)
    {
        _dir = dir;
    }

    /// <summary>The client port (known once the server has started).</summary>
    public int Port { get; private set; }

    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>The run's shared server (killed when the test process exits).</summary>
    public static Task<NatsServer> Shared => SharedServer.Value;

    public static async Task<NatsServer> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("fnop-nats-").FullName;
        var server = new NatsServer(dir);
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

    private const string ListeningLine = "Listening for client connections on ";
    private const string ReadyLine = "Server is ready";

    /// <summary>Starts the process and waits (up to 60 s) for its ready line; on the first start it also learns the port from the log.</summary>
    private async Task StartProcessAsync()
    {
        var port = Port == 0 ? "-1" : Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList = { "-js", "-a", "127.0.0.1", "-p", port, "-sd", Path.Combine(_dir, "js"), "-c", Path.Combine(_dir, "nats.conf") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var ready = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var tail = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var listening = 0;
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            // "[pid] date time [INF] Listening for client connections on 127.0.0.1:38737"
            if (line.Contains(ListeningLine, StringComparison.Ordinal) &&
                int.TryParse(line.AsSpan(line.LastIndexOf(':') + 1), System.Globalization.CultureInfo.InvariantCulture, out var n))
            {
                Volatile.Write(ref listening, n);
            }
            else if (line.Contains(ReadyLine, StringComparison.Ordinal))
            {
                ready.TrySetResult(Volatile.Read(ref listening));
            }

            tail.Enqueue(line);
            while (tail.Count > 20 && tail.TryDequeue(out _))
            {
            }
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("nats-server did not start");
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var exited = _process.WaitForExitAsync();
        var timeout = Task.Delay(TimeSpan.FromSeconds(60)); // a fresh, loaded CI machine
        var first = await Task.WhenAny(ready.Task, exited, timeout).ConfigureAwait(false);
        var bound = first == ready.Task ? ready.Task.Result : 0;
        if (bound <= 0)
        {
            Kill();
            var why = first == ready.Task ? "printed no client port" : exited.IsCompleted ? "exited" : "was not ready after 60 s";
            throw new InvalidOperationException($"nats-server -p {port} {why}:\n{string.Join("\n", tail)}");
        }

        Port = bound;
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
