using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace FnOperator.RuntimeShim;

/// <summary>A request the server rejects (bad framing, too large): the status it answers, then the connection closes.</summary>
public sealed class RuntimeApiBadRequestException(int status, string reason) : IOException(reason)
{
    public int Status { get; } = status;
}

/// <summary>
/// One runtime connection of <see cref="RuntimeApiServer"/>: requests are parsed from one receive buffer (what follows
/// a request — a pipelined next one — stays in it), each is run as a <see cref="RuntimeApi"/> route with this object
/// as its <see cref="IRuntimeApiExchange"/>, and its response is written in one send.
/// </summary>
internal sealed class RuntimeApiConnection : IRuntimeApiExchange, IDisposable
{
    private const int MaxChunkLine = 4096;
    private const int MaxDrainBytes = 1024 * 1024;
    private const int SingleSendBytes = 64 * 1024;
    private static readonly byte[] Continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();
    private readonly RuntimeApiServer _server;
    private readonly Socket _socket;
    private readonly byte[] _input;
    private readonly CancellationTokenSource _aborted = new();
    private readonly BodyStream _body;
    private readonly List<KeyValuePair<string, string>> _headers = [];
    private readonly List<KeyValuePair<string, string>> _trailers = [];
    private byte[] _output = new byte[4096];
    private int _start;
    private int _end;
    private Task<int>? _watch;
    private long _deadline = long.MaxValue;
    private int _lineStart;

    // The current request.
    private string _method = "";
    private string _path = "";
    private bool _http10;
    private bool _keepAlive;
    private bool _expectContinue;
    private bool _chunked;
    private bool _bodyDone;
    private bool _broken;
    private bool _responded;
    private bool _slowBody;
    private long? _contentLength;
    private long _remaining;
    private ChunkState _chunkState;

    public RuntimeApiConnection(RuntimeApiServer server, Socket socket)
    {
        _server = server;
        _socket = socket;
        _input = new byte[server.Limits.MaxHeaderBytes];
        _body = new BodyStream(this);
    }

    private enum ChunkState
    {
        Size,
        Data,
        DataEnd,
    }

    /// <summary>When the heartbeat closes the connection (<see cref="Environment.TickCount64"/> ms; never while a route waits).</summary>
    internal long Deadline => Volatile.Read(ref _deadline);

    /// <summary>What the connection waits for (the timeout's log line).</summary>
    internal string State { get; private set; } = "idle";

    public long? ContentLength => _chunked ? null : _contentLength;

    public Stream Body => _body;

    public CancellationToken Aborted => _aborted.Token;

    public string? Header(string name) => Find(_headers, name);

    public string? Trailer(string name) => _bodyDone ? Find(_trailers, name) : null;

    public void AllowSlowBody() => _slowBody = true;

    public Task RespondAsync(int status, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>>? headers = null) =>
        SendResponseAsync(status, body, headers, json: true);

    /// <summary>Closes the connection now: a read or write in progress fails, a route waiting on the slot is cancelled.</summary>
    internal void Abort()
    {
        try
        {
            _aborted.Cancel();
        }
        catch (AggregateException)
        {
            // A route's cancellation callback failed; the connection closes all the same.
        }

        _socket.Dispose();
    }

    public void Dispose() => _socket.Dispose();

    internal async Task RunAsync()
    {
        try
        {
            while (!_server.Stopping && await ReadRequestAsync().ConfigureAwait(false))
            {
                if (!await RunRequestAsync().ConfigureAwait(false))
                {
                    break;
                }
            }

            await CloseAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The runtime went away (or the server stopped): nothing to answer.
        }
    }

    /// <summary>Reads and parses the next request's head; false when the runtime closed the connection between requests.</summary>
    private async Task<bool> ReadRequestAsync()
    {
        SetDeadline(_server.Limits.KeepAliveTimeout, "idle");
        while (true)
        {
            // Empty lines before a request line are allowed (RFC 9112 §2.2).
            while (_start < _end && _input[_start] is (byte)'\r' or (byte)'\n')
            {
                _start++;
            }

            if (_start < _end)
            {
                var head = _input.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
                if (head >= 0)
                {
                    var status = Parse(_input.AsSpan(_start, head + 2));
                    _start += head + 4;
                    if (status != 0)
                    {
                        await RejectAsync(status, "malformed or oversized request head").ConfigureAwait(false);
                        return false;
                    }

                    return true;
                }

                if (_end - _start >= _input.Length)
                {
                    await RejectAsync(431, "request head over " + _input.Length.ToString(CultureInfo.InvariantCulture) + " bytes").ConfigureAwait(false);
                    return false;
                }

                // From the head's first byte, once: what arrives later does not move it (a head sent a byte at a
                // time must still finish within the limit).
                if (State != "headers")
                {
                    SetDeadline(_server.Limits.HeadersTimeout, "headers");
                }
            }

            if (await FillAsync(CancellationToken.None).ConfigureAwait(false) == 0)
            {
                return false;
            }
        }
    }

    /// <summary>Parses the request line and header fields (each line ends CRLF); 0, or the status to reject it with.</summary>
    private int Parse(ReadOnlySpan<byte> head)
    {
        _headers.Clear();
        _trailers.Clear();
        _responded = _slowBody = _expectContinue = _chunked = _bodyDone = false;
        _contentLength = null;
        _remaining = 0;
        _chunkState = ChunkState.Size;

        var eol = head.IndexOf("\r\n"u8);
        var line = head[..eol];
        head = head[(eol + 2)..];
        var sp1 = line.IndexOf((byte)' ');
        var sp2 = sp1 < 0 ? -1 : line[(sp1 + 1)..].IndexOf((byte)' ');
        if (sp1 <= 0 || sp2 <= 0 || !IsToken(line[..sp1]))
        {
            return 400;
        }

        var target = line.Slice(sp1 + 1, sp2);
        var version = line[(sp1 + sp2 + 2)..];
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            _http10 = false;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            _http10 = true;
        }
        else
        {
            return version.StartsWith("HTTP/"u8) ? 505 : 400;
        }

        _keepAlive = !_http10;
        _method = line[..sp1] switch
        {
            var m when m.SequenceEqual("GET"u8) => "GET",
            var m when m.SequenceEqual("POST"u8) => "POST",
            var m => Encoding.ASCII.GetString(m),
        };
        if (Path(target) is not { } path)
        {
            return 400;
        }

        _path = path;
        var status = ParseFields(head, _headers);
        if (status != 0)
        {
            return status;
        }

        return Framing();
    }

    /// <summary>The path of an origin-form or absolute-form target, without its query; null when it is malformed.</summary>
    private static string? Path(ReadOnlySpan<byte> target)
    {
        foreach (var b in target)
        {
            if (b <= 0x20 || b >= 0x7F)
            {
                return null;
            }
        }

        if (target.StartsWith("http://"u8) || target.StartsWith("https://"u8))
        {
            var authority = target[(target.IndexOf("//"u8) + 2)..];
            var slash = authority.IndexOf((byte)'/');
            target = slash < 0 ? "/"u8 : authority[slash..];
        }

        if (target.Length == 0 || target[0] != '/')
        {
            return null;
        }

        var query = target.IndexOfAny((byte)'?', (byte)'#');
        return Encoding.ASCII.GetString(query < 0 ? target : target[..query]);
    }

    /// <summary>Parses header (or trailer) fields, one per CRLF-terminated line; 0 or the status to reject with.</summary>
    private int ParseFields(ReadOnlySpan<byte> fields, List<KeyValuePair<string, string>> into)
    {
        while (fields.Length > 0)
        {
            var eol = fields.IndexOf("\r\n"u8);
            var line = fields[..eol];
            fields = fields[(eol + 2)..];
            var colon = line.IndexOf((byte)':');
            // No obsolete line folding, no whitespace before the colon, no control characters (a lone CR or LF included).
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                return 400;
            }

            var value = line[(colon + 1)..].Trim(" \t"u8);
            foreach (var b in value)
            {
                if ((b < 0x20 && b != '\t') || b == 0x7F)
                {
                    return 400;
                }
            }

            if (into.Count >= _server.Limits.MaxHeaderCount)
            {
                return 431;
            }

            into.Add(new(Encoding.ASCII.GetString(line[..colon]), Encoding.Latin1.GetString(value)));
        }

        return 0;
    }

    /// <summary>Decides the body's framing and the connection's persistence from the headers; 0 or a status.</summary>
    private int Framing()
    {
        string? length = null;
        string? coding = null;
        foreach (var (name, value) in _headers)
        {
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (length is not null && length != value)
                {
                    return 400;
                }

                length = value;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                coding = coding is null ? value : coding + "," + value;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var token in value.Split(',', StringSplitOptions.TrimEntries))
                {
                    if (token.Equals("close", StringComparison.OrdinalIgnoreCase))
                    {
                        _keepAlive = false;
                    }
                    else if (_http10 && token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase))
                    {
                        _keepAlive = true;
                    }
                }
            }
            else if (name.Equals("Expect", StringComparison.OrdinalIgnoreCase))
            {
                _expectContinue = !_http10 && value.Equals("100-continue", StringComparison.OrdinalIgnoreCase);
            }
        }

        if (coding is not null)
        {
            // Chunked must be the final coding; with a Content-Length as well the framing is ambiguous (smuggling).
            var codings = coding.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (_http10 || length is not null || codings.Length == 0 || !codings[^1].Equals("chunked", StringComparison.OrdinalIgnoreCase))
            {
                return 400;
            }

            _chunked = true;
            return 0;
        }

        if (length is not null)
        {
            if (!long.TryParse(length, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return 400;
            }

            _contentLength = parsed;
            _remaining = parsed;
            _bodyDone = parsed == 0;
            return 0;
        }

        // No framing: no body (an HTTP/1.0 POST must have a length: 400, as Kestrel answers).
        _bodyDone = true;
        return _http10 && _method == "POST" ? 400 : 0;
    }

    /// <summary>Runs one request; true when the connection carries on with the next.</summary>
    private async Task<bool> RunRequestAsync()
    {
        var route = RuntimeApi.Match(_method, _path, out var requestId);
        if (route == RuntimeApiRoute.NotFound)
        {
            await SendResponseAsync(404, default, null, json: false).ConfigureAwait(false);
            return Persists();
        }

        if (route == RuntimeApiRoute.MethodNotAllowed)
        {
            var allow = _path.Contains("/invocation/next", StringComparison.OrdinalIgnoreCase) ? "GET" : "POST";
            await SendResponseAsync(405, default, [new("Allow", allow)], json: false).ConfigureAwait(false);
            return Persists();
        }

        if (_bodyDone)
        {
            // A bodiless request (GET next) may wait long: the next read starts now, so a runtime that goes away cancels it.
            StartWatch();
        }

        SetDeadline(null, "route");
        try
        {
            await _server.Api.HandleAsync(this, route, requestId).ConfigureAwait(false);
        }
        catch (Exception e) when (_aborted.IsCancellationRequested && e is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            return false;
        }
        catch (RuntimeApiBadRequestException e)
        {
            _broken = true;
            if (!_responded)
            {
                await RejectAsync(e.Status, e.Message).ConfigureAwait(false);
            }

            return false;
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            // The runtime's connection failed mid-request (e.g. it closed mid-body).
            return false;
        }
        catch (Exception e)
        {
            RuntimeApiServer.LogRouteFailed(_server.Logger, e, _method, _path);
            _broken = true;
            if (!_responded)
            {
                await SendResponseAsync(500, default, null, json: false).ConfigureAwait(false);
            }

            return false;
        }

        if (!_responded)
        {
            if (_aborted.IsCancellationRequested)
            {
                return false;
            }

            // A route that ends without an answer (its invocation ended meanwhile) is answered 200, as Kestrel does.
            await SendResponseAsync(200, default, null, json: false).ConfigureAwait(false);
        }

        return Persists();
    }

    private bool Persists() => _keepAlive && _bodyDone && !_broken && !_server.Stopping && !_aborted.IsCancellationRequested;

    private async Task RejectAsync(int status, string reason)
    {
        RuntimeApiServer.LogBadRequest(_server.Logger, status, reason);
        _broken = true;
        await SendResponseAsync(status, default, null, json: false).ConfigureAwait(false);
    }

    private async Task SendResponseAsync(int status, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>>? headers, bool json)
    {
        if (_responded)
        {
            throw new InvalidOperationException("The response was already sent.");
        }

        var close = !Persists();
        var length = 0;
        Append(ref length, "HTTP/1.1 "u8);
        AppendNumber(ref length, status);
        Append(ref length, " "u8);
        Append(ref length, Reason(status));
        Append(ref length, "\r\n"u8);
        if (json)
        {
            Append(ref length, "Content-Type: application/json\r\n"u8);
        }

        Append(ref length, _server.DateLine);
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                AppendField(ref length, name, value);
            }
        }

        Append(ref length, "Content-Length: "u8);
        AppendNumber(ref length, body.Length);
        Append(ref length, close ? "\r\nConnection: close\r\n\r\n"u8 : _http10 ? "\r\nConnection: keep-alive\r\n\r\n"u8 : "\r\n\r\n"u8);
        if (length + body.Length <= SingleSendBytes)
        {
            Append(ref length, body.Span);
            body = default;
        }

        _responded = true;
        SetDeadline(_server.Limits.BodyTimeout, "response");
        await SendAsync(_output.AsMemory(0, length)).ConfigureAwait(false);
        if (body.Length > 0)
        {
            await SendAsync(body).ConfigureAwait(false);
        }

        SetDeadline(null, "route");
        if (close)
        {
            _keepAlive = false;
        }
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        while (data.Length > 0)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    /// <summary>Ends the connection: what the runtime still sends (an unread body) is drained, bounded, so it sees the answer, not a reset.</summary>
    private async Task CloseAsync()
    {
        if (_bodyDone && _watch is null && _start == _end)
        {
            _socket.Shutdown(SocketShutdown.Both);
            return;
        }

        _socket.Shutdown(SocketShutdown.Send);
        SetDeadline(TimeSpan.FromSeconds(2), "close");
        long drained = 0;
        int read;
        while (drained < MaxDrainBytes && (read = await FillAsync(CancellationToken.None).ConfigureAwait(false)) > 0)
        {
            drained += read;
            _start = _end;
        }
    }

    /// <summary>Starts the next read of the connection early (into the buffer's free space); <see cref="FillAsync"/> takes it over.</summary>
    private void StartWatch()
    {
        if (_watch is not null)
        {
            return;
        }

        if (_start == _end)
        {
            _start = _end = 0;
        }

        if (_end < _input.Length)
        {
            _watch = WatchAsync(_input.AsMemory(_end));
        }
    }

    private async Task<int> WatchAsync(Memory<byte> free)
    {
        int read;
        try
        {
            read = await _socket.ReceiveAsync(free, SocketFlags.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            read = 0;
        }

        if (read == 0)
        {
            // The runtime went away while its request waits (a held GET next): cancel it, as Kestrel's RequestAborted does.
            try
            {
                _aborted.Cancel();
            }
            catch (AggregateException)
            {
            }
        }

        return read;
    }

    /// <summary>Reads more into the buffer; 0 at the end of the connection.</summary>
    private async ValueTask<int> FillAsync(CancellationToken cancellationToken)
    {
        int read;
        if (_watch is { } watch)
        {
            _watch = null;
            read = await watch.ConfigureAwait(false);
        }
        else
        {
            if (_start == _end)
            {
                _start = _end = 0;
            }
            else if (_end == _input.Length && _start > 0)
            {
                Buffer.BlockCopy(_input, _start, _input, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _input.Length)
            {
                throw new RuntimeApiBadRequestException(431, "The buffer is full.");
            }

            read = await Receive(_input.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        }

        _end += read;
        return read;
    }

    private ValueTask<int> Receive(Memory<byte> into, CancellationToken cancellationToken) =>
        // The connection's own abort closes the socket (no cancellation registration per read for it).
        _socket.ReceiveAsync(into, SocketFlags.None, cancellationToken == _aborted.Token ? CancellationToken.None : cancellationToken);

    private async ValueTask<int> ReadBodyAsync(Memory<byte> into, CancellationToken cancellationToken)
    {
        if (_bodyDone || into.Length == 0)
        {
            return 0;
        }

        if (_expectContinue)
        {
            // The runtime waits for this before it sends the body (curl, for bodies over 1 KiB).
            _expectContinue = false;
            await SendAsync(Continue).ConfigureAwait(false);
        }

        SetDeadline(_slowBody ? null : _server.Limits.BodyTimeout, "body");
        try
        {
            if (!_chunked)
            {
                var read = await ReadRawAsync(into[..(int)Math.Min(into.Length, _remaining)], cancellationToken).ConfigureAwait(false);
                _remaining -= read;
                _bodyDone = _remaining == 0;
                return read;
            }

            while (true)
            {
                switch (_chunkState)
                {
                    case ChunkState.Size:
                        var size = ChunkSize(await ReadLineAsync(cancellationToken).ConfigureAwait(false));
                        if (size == 0)
                        {
                            await ReadTrailersAsync(cancellationToken).ConfigureAwait(false);
                            _bodyDone = true;
                            return 0;
                        }

                        _remaining = size;
                        _chunkState = ChunkState.Data;
                        break;
                    case ChunkState.Data:
                        var read = await ReadRawAsync(into[..(int)Math.Min(into.Length, _remaining)], cancellationToken).ConfigureAwait(false);
                        _remaining -= read;
                        if (_remaining == 0)
                        {
                            _chunkState = ChunkState.DataEnd;
                        }

                        return read;
                    default:
                        if (await ReadLineAsync(cancellationToken).ConfigureAwait(false) != 0)
                        {
                            throw new RuntimeApiBadRequestException(400, "A chunk's data is not followed by CRLF.");
                        }

                        _chunkState = ChunkState.Size;
                        break;
                }
            }
        }
        catch (RuntimeApiBadRequestException)
        {
            _broken = true;
            throw;
        }
        finally
        {
            SetDeadline(null, "route");
        }
    }

    /// <summary>Body bytes: from the buffer first, else straight from the socket into the caller's memory.</summary>
    private async ValueTask<int> ReadRawAsync(Memory<byte> into, CancellationToken cancellationToken)
    {
        if (_start < _end)
        {
            var count = Math.Min(into.Length, _end - _start);
            _input.AsSpan(_start, count).CopyTo(into.Span);
            _start += count;
            return count;
        }

        var read = await Receive(into, cancellationToken).ConfigureAwait(false);
        return read > 0 ? read : throw new IOException("The runtime closed the connection mid-body.");
    }

    /// <summary>The length of the next CRLF-terminated line in the buffer (consumed); 4 KiB at most.</summary>
    private async ValueTask<int> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var eol = _input.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (eol >= 0)
            {
                _lineStart = _start;
                _start += eol + 2;
                return eol;
            }

            if (_end - _start > MaxChunkLine)
            {
                throw new RuntimeApiBadRequestException(400, "A chunk line is over 4 KiB.");
            }

            if (await FillAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new IOException("The runtime closed the connection mid-body.");
            }
        }
    }

    private long ChunkSize(int lineLength)
    {
        var line = _input.AsSpan(_lineStart, lineLength);
        var extension = line.IndexOf((byte)';');
        var digits = (extension < 0 ? line : line[..extension]).TrimEnd(" \t"u8);
        if (digits.Length is 0 or > 15)
        {
            throw new RuntimeApiBadRequestException(400, "A chunk size is malformed.");
        }

        long size = 0;
        foreach (var b in digits)
        {
            var digit = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => throw new RuntimeApiBadRequestException(400, "A chunk size is malformed."),
            };
            size = (size * 16) + digit;
        }

        return size;
    }

    /// <summary>The trailer section after the last chunk (bounded as the headers are).</summary>
    private async ValueTask ReadTrailersAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            var length = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (length == 0)
            {
                return;
            }

            total += length + 2;
            if (total > _server.Limits.MaxHeaderBytes)
            {
                throw new RuntimeApiBadRequestException(431, "The trailers are too large.");
            }

            var line = _input.AsSpan(_lineStart, length + 2);
            var status = ParseFields(line, _trailers);
            if (status != 0)
            {
                throw new RuntimeApiBadRequestException(status, "A trailer field is malformed.");
            }
        }
    }

    private void SetDeadline(TimeSpan? after, string state)
    {
        State = state;
        Volatile.Write(ref _deadline, after is { } t ? Environment.TickCount64 + (long)t.TotalMilliseconds : long.MaxValue);
    }

    private static string? Find(List<KeyValuePair<string, string>> fields, string name)
    {
        string? found = null;
        foreach (var (key, value) in fields)
        {
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                found = found is null ? value : found + "," + value;
            }
        }

        return found;
    }

    private static bool IsToken(ReadOnlySpan<byte> text)
    {
        foreach (var b in text)
        {
            if (b <= 0x20 || b >= 0x7F || "\"(),/:;<=>?@[\\]{}"u8.Contains(b))
            {
                return false;
            }
        }

        return text.Length > 0;
    }

    private static ReadOnlySpan<byte> Reason(int status) => status switch
    {
        200 => "OK"u8,
        202 => "Accepted"u8,
        400 => "Bad Request"u8,
        403 => "Forbidden"u8,
        404 => "Not Found"u8,
        405 => "Method Not Allowed"u8,
        411 => "Length Required"u8,
        413 => "Payload Too Large"u8,
        431 => "Request Header Fields Too Large"u8,
        500 => "Internal Server Error"u8,
        505 => "HTTP Version Not Supported"u8,
        _ => "Unknown"u8,
    };

    private void AppendField(ref int length, string name, string value)
    {
        // As Kestrel: a response header value is printable ASCII (or a tab); anything else would break the framing.
        foreach (var c in value)
        {
            if ((c < 0x20 && c != '\t') || c >= 0x7F)
            {
                throw new InvalidOperationException($"Invalid non-ASCII or control character in header {name}.");
            }
        }

        Ensure(length + name.Length + value.Length + 4);
        length += Encoding.ASCII.GetBytes(name, _output.AsSpan(length));
        _output[length++] = (byte)':';
        _output[length++] = (byte)' ';
        length += Encoding.ASCII.GetBytes(value, _output.AsSpan(length));
        _output[length++] = (byte)'\r';
        _output[length++] = (byte)'\n';
    }

    private void AppendNumber(ref int length, long number)
    {
        Ensure(length + 20);
        number.TryFormat(_output.AsSpan(length), out var written, provider: CultureInfo.InvariantCulture);
        length += written;
    }

    private void Append(ref int length, ReadOnlySpan<byte> bytes)
    {
        Ensure(length + bytes.Length);
        bytes.CopyTo(_output.AsSpan(length));
        length += bytes.Length;
    }

    private void Ensure(int size)
    {
        if (size > _output.Length)
        {
            Array.Resize(ref _output, Math.Max(size, _output.Length * 2));
        }
    }

    /// <summary>The request body as a stream (the routes read it; the framing is the connection's).</summary>
    private sealed class BodyStream(RuntimeApiConnection connection) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            connection.ReadBodyAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
