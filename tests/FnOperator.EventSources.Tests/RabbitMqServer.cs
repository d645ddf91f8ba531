using System.Diagnostics;
using System.Globalization;
using RabbitMQ.Client;

namespace FnOperator.EventSources.Tests;

/// <summary>
/// A real rabbitmq-server (Debian's, started directly from /usr/lib/rabbitmq/bin as the current user) on 127.0.0.1 with
/// free AMQP, distribution and epmd ports, its node name, database, logs, config, plugins file and Erlang cookie (HOME)
/// in a temp folder. Waits with an AMQP connection loop; stops cleanly with rabbitmqctl stop and kills its own epmd.
/// <see cref="RestartAsync"/> keeps the folder and ports (durable queues survive). A free port can be taken by another
/// process before the broker binds it: when the first start's broker exits before accepting connections, it is started
/// again on other free ports (3 attempts). Use as an xUnit class fixture.
/// </summary>
public sealed class RabbitMqServer : IAsyncLifetime
{
    private const string Bin = "/usr/lib/rabbitmq/bin";
    private readonly string dir = Directory.CreateTempSubdirectory("fnop-rabbitmq-").FullName;
    private readonly string node = $"fnop{Environment.ProcessId}x{Guid.NewGuid().ToString("N")[..6]}@localhost";
    private int distPort = ServerProcess.FreePort();
    private int epmdPort = ServerProcess.FreePort();
    private Process? process;

    public int Port { get; private set; } = ServerProcess.FreePort();

    public string Url => $"amqp://guest:guest@127.0.0.1:{Port}/";

    /// <summary>The server's output (for failure messages).</summary>
    public string Log => File.Exists(Path.Combine(dir, "out.log")) ? File.ReadAllText(Path.Combine(dir, "out.log")) : "";

    public async Task InitializeAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartAsync();
                return;
            }
            catch (ExitedEarlyException) when (attempt < 3)
            {
                await StopAsync();
                (Port, distPort, epmdPort) = (ServerProcess.FreePort(), ServerProcess.FreePort(), ServerProcess.FreePort());
            }
        }
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public async Task StartAsync()
    {
        Directory.CreateDirectory(Path.Combine(dir, "home"));
        await File.WriteAllTextAsync(Path.Combine(dir, "enabled_plugins"), "[].");
        await File.WriteAllTextAsync(Path.Combine(dir, "rabbitmq-env.conf"), "");
        var info = Info(Path.Combine(Bin, "rabbitmq-server"));
        var log = new StreamWriter(Path.Combine(dir, "out.log"), append: true) { AutoFlush = true };
        process = Process.Start(info) ?? throw new InvalidOperationException("rabbitmq-server did not start");
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(120);
        var factory = new ConnectionFactory { Uri = new Uri(Url), RequestedConnectionTimeout = TimeSpan.FromSeconds(5), AutomaticRecoveryEnabled = false };
        while (true)
        {
            try
            {
                await using var connection = await factory.CreateConnectionAsync();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(250);
            }
            catch (Exception e) when (process.HasExited)
            {
                throw new ExitedEarlyException($"rabbitmq-server exited before accepting connections on {Port} (exit code {process.ExitCode}):\n{Log}", e);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"rabbitmq-server did not accept connections on {Port} in 120 s:\n{Log}", e);
            }
        }
    }

    /// <summary>Stops the broker cleanly (rabbitmqctl stop; a kill after 60 s) and its epmd.</summary>
    public async Task StopAsync()
    {
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            using var ctl = Process.Start(Info(Path.Combine(Bin, "rabbitmqctl"), "-n", node, "stop"))!;
            ctl.OutputDataReceived += (_, _) => { };
            ctl.ErrorDataReceived += (_, _) => { };
            ctl.BeginOutputReadLine();
            ctl.BeginErrorReadLine();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await ctl.WaitForExitAsync(wait.Token);
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                ctl.Kill(entireProcessTree: true);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        process.Dispose();
        process = null;
        var epmd = Directory.GetFiles("/usr/lib/erlang", "epmd", SearchOption.AllDirectories).FirstOrDefault(f => f.Contains("/bin/", StringComparison.Ordinal));
        if (epmd is not null)
        {
            using var kill = Process.Start(Info(epmd, "-port", epmdPort.ToString(CultureInfo.InvariantCulture), "-kill"))!;
            kill.OutputDataReceived += (_, _) => { };
            kill.ErrorDataReceived += (_, _) => { };
            kill.BeginOutputReadLine();
            kill.BeginErrorReadLine();
            await kill.WaitForExitAsync();
        }
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    /// <summary>A connection and channel for a test to declare queues and publish.</summary>
    public async Task<(IConnection Connection, IChannel Channel)> OpenAsync()
    {
        var connection = await new ConnectionFactory { Uri = new Uri(Url) }.CreateConnectionAsync();
        return (connection, await connection.CreateChannelAsync());
    }

    private ProcessStartInfo Info(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var env = info.Environment;
        env["HOME"] = Path.Combine(dir, "home"); // the Erlang cookie is created here
        env["RABBITMQ_NODENAME"] = node;
        env["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        env["RABBITMQ_NODE_PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        env["RABBITMQ_DIST_PORT"] = distPort.ToString(CultureInfo.InvariantCulture);
        env["ERL_EPMD_PORT"] = epmdPort.ToString(CultureInfo.InvariantCulture);
        env["ERL_EPMD_ADDRESS"] = "127.0.0.1";
        env["RABBITMQ_MNESIA_BASE"] = Path.Combine(dir, "mnesia");
        env["RABBITMQ_LOG_BASE"] = Path.Combine(dir, "log");
        env["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(dir, "rabbitmq-env.conf");
        env["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(dir, "enabled_plugins");
        env["RABBITMQ_CONFIG_FILE"] = Path.Combine(dir, "rabbitmq"); // none exists: defaults
        env["RABBITMQ_PID_FILE"] = Path.Combine(dir, "rabbitmq.pid");
        return info;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }

    private sealed class ExitedEarlyException(string message, Exception inner) : InvalidOperationException(message, inner);
}
