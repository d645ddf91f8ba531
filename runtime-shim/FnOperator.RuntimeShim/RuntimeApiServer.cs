using System.Net.Sockets;
using System.Text;

namespace FnOperator.RuntimeShim;

/// <summary>The Runtime API server's limits (Kestrel's defaults where Kestrel has one).</summary>
public sealed record RuntimeApiServerLimits
{
    /// <summary>Request line and headers together (Kestrel: 32 KiB of headers, 8 KiB of request line); past it 431.</summary>
    public int MaxHeaderBytes { get; init; } = 32 * 1024;

    /// <summary>Header fields per request (Kestrel: 100); past it 431.</summary>
    public int MaxHeaderCount { get; init; } = 100;

    /// <summary>Open connections; one more is answered 503 and closed. A runtime needs one per concurrent invocation.</summary>
    public int MaxConnections { get; init; } = 256;

    /// <summary>An idle keep-alive connection is closed after this (Kestrel: 130 s).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(130);

    /// <summary>From a request's first byte to the end of its headers (Kestrel: 30 s).</summary>
    public TimeSpan HeadersTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest pause in a (buffered) request body or in sending a response; a streamed response body has none.</summary>
    public TimeSpan BodyTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The Runtime API's own HTTP/1.1 server on a raw socket (issue #19: Kestrel was 14–15 % of a busy shim process's CPU
/// for two small requests per invocation): keep-alive, pipelining, Content-Length and chunked bodies with trailers,
/// <c>Expect: 100-continue</c>, HTTP/1.0, the limits of <see cref="RuntimeApiServerLimits"/>. It serves only the
/// Runtime API's routes (<see cref="RuntimeApi.Match"/>); what a route does is <see cref="RuntimeApi"/>'s, shared with
/// Kestrel. One accept loop; one task per connection, which parses requests from one buffer and runs the route inline.
/// </summary>
public sealed partial class RuntimeApiServer : IAsyncDisposable
{
    private static readonly byte[] Busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray();
    private readonly Socket _listener;
    private readonly Dictionary<RuntimeApiConnection, Task> _connections = [];
    private readonly CancellationTokenSource _stopping = new();
    private Timer? _heartbeat;
    private Task _accepting = Task.CompletedTask;
    private byte[] _date = [];

    public RuntimeApiServer(Socket listener, RuntimeApi api, ILogger<RuntimeApiServer> logger, RuntimeApiServerLimits? limits = null)
    {
        _listener = listener;
        Api = api;
        Logger = logger;
        Limits = limits ?? new RuntimeApiServerLimits();
        UpdateDate();
    }

    internal RuntimeApi Api { get; }

    internal ILogger Logger { get; }

    internal RuntimeApiServerLimits Limits { get; }

    /// <summary>The Date header line (<c>Date: …\r\n</c>), refreshed every second.</summary>
    internal byte[] DateLine => Volatile.Read(ref _date);

    internal bool Stopping => _stopping.IsCancellationRequested;

    /// <summary>Open connections (tests).</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_connections)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Starts accepting on the (bound, listening) socket.</summary>
    public void Start()
    {
        _heartbeat = new Timer(static s => ((RuntimeApiServer)s!).Tick(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        _accepting = AcceptAsync();
    }

    /// <summary>Stops accepting and closes every connection: a held `GET next` ends (its poll is cancelled), unanswered.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _accepting.ConfigureAwait(false);
        RuntimeApiConnection[] open;
        Task[] running;
        lock (_connections)
        {
            open = [.. _connections.Keys];
            running = [.. _connections.Values];
        }

        // Outside the lock: an abort runs the cancelled routes' continuations, which may end their connections (and take it).
        foreach (var connection in open)
        {
            connection.Abort();
        }

        // Each connection's loop ends once its socket is closed and its route returned (a route awaits only the slot, the
        // body and its own write, all cancelled by the abort); bounded in case a route misbehaves.
        await Task.WhenAny(Task.WhenAll(running), Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
        if (_heartbeat is not null)
        {
            await _heartbeat.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || _stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // E.g. out of descriptors: wait a little instead of spinning on the error.
                LogAcceptFailed(Logger, e.SocketErrorCode);
                await Task.Delay(TimeSpan.FromMilliseconds(50), CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            socket.NoDelay = true;
            var connection = new RuntimeApiConnection(this, socket);
            lock (_connections)
            {
                if (_connections.Count >= Limits.MaxConnections || _stopping.IsCancellationRequested)
                {
                    LogConnectionRefused(Logger, Limits.MaxConnections);
                    _ = RefuseAsync(socket);
                    continue;
                }

                _connections[connection] = Task.CompletedTask;
            }

            var run = RunAsync(connection);
            lock (_connections)
            {
                if (_connections.ContainsKey(connection))
                {
                    _connections[connection] = run;
                }
            }
        }
    }

    private async Task RunAsync(RuntimeApiConnection connection)
    {
        // Off the accept loop at once (the connection's first read would otherwise run on it).
        await Task.Yield();
        try
        {
            await connection.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            connection.Dispose();
            lock (_connections)
            {
                _connections.Remove(connection);
            }
        }
    }

    private static async Task RefuseAsync(Socket socket)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.SendAsync(Busy, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }

    private void Tick()
    {
        UpdateDate();
        var now = Environment.TickCount64;
        List<RuntimeApiConnection>? late = null;
        lock (_connections)
        {
            foreach (var connection in _connections.Keys)
            {
                if (now > connection.Deadline)
                {
                    (late ??= []).Add(connection);
                }
            }
        }

        foreach (var connection in late ?? [])
        {
            LogTimedOut(Logger, connection.State);
            connection.Abort();
        }
    }

    private void UpdateDate() =>
        Volatile.Write(ref _date, Encoding.ASCII.GetBytes("Date: " + DateTimeOffset.UtcNow.ToString("r", System.Globalization.CultureInfo.InvariantCulture) + "\r\n"));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Runtime API accept failed ({Error}); retrying")]
    private static partial void LogAcceptFailed(ILogger logger, SocketError error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused Runtime API connection: {Limit} connections are open")]
    private static partial void LogConnectionRefused(ILogger logger, int limit);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Closed Runtime API connection: timed out ({State})")]
    private static partial void LogTimedOut(ILogger logger, string state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Rejected Runtime API request: {Status} {Reason}")]
    internal static partial void LogBadRequest(ILogger logger, int status, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Runtime API route failed: {Method} {Path}")]
    internal static partial void LogRouteFailed(ILogger logger, Exception exception, string method, string path);
}
