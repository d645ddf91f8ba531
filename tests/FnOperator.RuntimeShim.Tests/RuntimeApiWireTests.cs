using System.Net.Sockets;
using System.Text;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// HTTP/1.1 on the Runtime API's socket as real runtime clients speak it, byte by byte (raw sockets, the test acting as
/// the runtime of a shim whose own runtime only sleeps): pipelining, <c>Expect: 100-continue</c>, chunked bodies with
/// trailers, HTTP/1.0, oversize heads, clients that go away mid-body or while their `GET next` is held, bad input.
/// <see cref="RuntimeApiWireTestsOnKestrel"/> runs the same cases against Kestrel's Runtime API.
/// </summary>
public class RuntimeApiWireTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private string _taskRoot = "";
    private PullServer _server = null!;
    private ShimProcess _shim = null!;

    /// <summary>The Runtime API server these cases run against.</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    public async Task InitializeAsync() => (_taskRoot, _server, _shim) = await StartShimOfSleepingRuntimeAsync(ApiServer);

    /// <summary>A shim (on <paramref name="apiServer"/>) whose own runtime only sleeps, so the test is the Runtime API's client, and its pull server.</summary>
    internal static async Task<(string TaskRoot, PullServer Server, ShimProcess Shim)> StartShimOfSleepingRuntimeAsync(string apiServer)
    {
        var taskRoot = Directory.CreateTempSubdirectory("fnop-shim-wire-").FullName;
        FunctionUnderTest.WriteExecutable(Path.Combine(taskRoot, "bootstrap"), "#!/bin/sh\nexec sleep 3600\n");
        var server = await PullServer.StartAsync();
        var shim = await ShimProcess.StartAsync(SleepingRuntimeEnvironment(apiServer, taskRoot, server.BaseUrl));
        return (taskRoot, server, shim);
    }

    /// <summary>The shim's environment for a sleeping runtime in <paramref name="taskRoot"/> pulling from <paramref name="sourceUrl"/>.</summary>
    internal static Dictionary<string, string> SleepingRuntimeEnvironment(string apiServer, string taskRoot, string sourceUrl) => new()
    {
        [ShimOptions.RuntimeApiServerVariable] = apiServer,
        ["AWS_LAMBDA_FUNCTION_NAME"] = "fn",
        ["FNOP_RUNTIME"] = "provided.al2023",
        ["_HANDLER"] = "unused",
        ["LAMBDA_TASK_ROOT"] = taskRoot,
        ["FNOP_TIMEOUT_SECONDS"] = "120",
        ["FNOP_INIT_TIMEOUT_SECONDS"] = "120",
        ["FNOP_SOURCE_URL"] = sourceUrl,
    };

    public async Task DisposeAsync()
    {
        await _shim.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_taskRoot, recursive: true);
    }

    internal const string Next = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rt\r\n\r\n";

    internal static string Post(string requestId, string body, string extraHeaders = "") =>
        $"POST /2018-06-01/runtime/invocation/{requestId}/response HTTP/1.1\r\nHost: rt\r\nContent-Type: application/json\r\n{extraHeaders}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    [Fact]
    public async Task Pipelined_response_and_next_in_one_write_are_answered_in_order_on_one_connection()
    {
        var first = _server.Enqueue("""{"n":1}""");
        await using var wire = await Wire.ConnectAsync(_shim.RuntimeApi);
        await wire.SendAsync(Next);
        var next1 = await wire.ReadResponseAsync();
        Assert.Equal(first.RequestId, next1.Header("Lambda-Runtime-Aws-Request-Id"));
        var second = _server.Enqueue("""{"n":2}""");

        // As the node bootstrap writes them: the response POST and the next GET in one write.
        await wire.SendAsync(Post(first.RequestId, "\"one\"") + Next);
        var accepted = await wire.ReadResponseAsync();
        var next2 = await wire.ReadResponseAsync();

        Assert.Equal(202, accepted.Status);
        Assert.Equal("""{"status":"OK"}""", accepted.Body);
        Assert.Equal(200, next2.Status);
        Assert.Equal(second.RequestId, next2.Header("Lambda-Runtime-Aws-Request-Id"));
        Assert.Equal("""{"n":2}""", next2.Body);
        Assert.Equal("\"one\"", (await _server.ResultAsync(first.RequestId)).Text());
    }

    [Fact]
    public async Task Expect_100_continue_is_answered_before_the_body_is_sent()
    {
        var invocation = _server.Enqueue("{}");
        await using var wire = await Wire.ConnectAsync(_shim.RuntimeApi);
        await wire.SendAsync(Next);
        await wire.ReadResponseAsync();
        var body = "\"" + new string('x', 2000) + "\"";

        // As curl sends a body over 1 KiB: the head, then the body only after the interim answer.
        await wire.SendAsync($"POST /2018-06-01/runtime/invocation/{invocation.RequestId}/response HTTP/1.1\r\nHost: rt\r\nExpect: 100-continue\r\nContent-Length: {body.Length}\r\n\r\n");
        var interim = await wire.ReadResponseAsync();
        await wire.SendAsync(body);
        var accepted = await wire.ReadResponseAsync();

        Assert.Equal(100, interim.Status);
        Assert.Equal(202, accepted.Status);
        Assert.Equal(body, (await _server.ResultAsync(invocation.RequestId)).Text());
    }

    [Fact]
    public async Task Chunked_body_is_decoded_and_its_error_trailers_make_a_function_error()
    {
        var plain = _server.Enqueue("{}");
        var failing = _server.Enqueue("{}");
        await using var wire = await Wire.ConnectAsync(_shim.RuntimeApi);
        await wire.SendAsync(Next);
        await wire.ReadResponseAsync();

        // A chunked body in three chunks (one with an extension), split across writes mid-chunk.
        await wire.SendAsync($"POST /2018-06-01/runtime/invocation/{plain.RequestId}/response HTTP/1.1\r\nHost: rt\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\"ab");
        await wire.SendAsync("\r\n2;ext=1\r\ncd\r\n1\r\n\"\r\n0\r\n\r\n");
        var accepted = await wire.ReadResponseAsync();
        await wire.SendAsync(Next);
        await wire.ReadResponseAsync();
        var error = Convert.ToBase64String("""{"errorMessage":"half way","errorType":"Stream.Broke"}"""u8);
        await wire.SendAsync($"POST /2018-06-01/runtime/invocation/{failing.RequestId}/response HTTP/1.1\r\nHost: rt\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nTrailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\nTransfer-Encoding: chunked\r\n\r\n4\r\npart\r\n0\r\nLambda-Runtime-Function-Error-Type: Stream.Broke\r\nLambda-Runtime-Function-Error-Body: {error}\r\n\r\n");
        var streamed = await wire.ReadResponseAsync();

        Assert.Equal(202, accepted.Status);
        Assert.Equal("\"abcd\"", (await _server.ResultAsync(plain.RequestId)).Text());
        Assert.Equal(202, streamed.Status);
        var result = await _server.ResultAsync(failing.RequestId);
        Assert.Equal(InvocationOutcome.FunctionError, result.Outcome);
        Assert.Equal("Stream.Broke", result.ErrorType);
        Assert.Equal("half way", result.Json().GetProperty("errorMessage").GetString());
    }

    [Fact]
    public async Task Oversize_head_gets_431_and_the_api_keeps_serving()
    {
        await using (var wire = await Wire.ConnectAsync(_shim.RuntimeApi))
        {
            await wire.SendAsync("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rt\r\nX-Big: " + new string('a', 40 * 1024) + "\r\n\r\n");
            var refused = await wire.ReadResponseAsync();
            Assert.Equal(431, refused.Status);
            Assert.True(await wire.ClosedAsync(), "the connection is closed after the refusal");
        }

        await AssertServesAsync();
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n", 400)]
    [InlineData("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rt\r\nBad Header: x\r\n\r\n", 400)]
    [InlineData("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rt\r\n folded\r\n\r\n", 400)]
    [InlineData("POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nHost: rt\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400)]
    [InlineData("POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nHost: rt\r\nContent-Length: abc\r\n\r\n", 400)]
    [InlineData("POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nHost: rt\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400)]
    [InlineData("POST /2018-06-01/runtime/invocation/x/response HTTP/1.0\r\nHost: rt\r\n\r\n", 400)]
    [InlineData("GET /2018-06-01/runtime/invocation/next HTTP/2.0\r\nHost: rt\r\n\r\n", 505)]
    [InlineData("GET /2018-06-01/runtime/nothing HTTP/1.1\r\nHost: rt\r\n\r\n", 404)]
    [InlineData("POST /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rt\r\nContent-Length: 0\r\n\r\n", 405)]
    public async Task Bad_input_gets_a_4xx_or_5xx_and_the_api_keeps_serving(string request, int status)
    {
        await using (var wire = await Wire.ConnectAsync(_shim.RuntimeApi))
        {
            await wire.SendAsync(request);
            var refused = await wire.ReadResponseAsync();
            Assert.Equal(status, refused.Status);
        }

        await AssertServesAsync();
    }

    [Theory]
    [InlineData("Content-Length: 100\r\n\r\n\"partial")]
    [InlineData("Transfer-Encoding: chunked\r\n\r\n20\r\n\"partial")]
    [InlineData("Transfer-Encoding: chunked\r\n\r\n8\r\n\"partial\r\n")]
    public async Task Client_closing_mid_body_leaves_the_invocation_to_a_complete_post(string headAndPartialBody)
    {
        var invocation = _server.Enqueue("{}");
        int port;
        await using (var wire = await Wire.ConnectAsync(_shim.RuntimeApi))
        {
            port = wire.LocalPort;
            await wire.SendAsync(Next);
            await wire.ReadResponseAsync();
            await wire.SendAsync($"POST /2018-06-01/runtime/invocation/{invocation.RequestId}/response HTTP/1.1\r\nHost: rt\r\n{headAndPartialBody}");
        }

        // The complete POST goes only once the shim has dealt with the partial one (it closed its end of that connection):
        // sent earlier, it could be taken first and the case would pass even if the partial body were taken as a result.
        await WaitForServerCloseAsync(port);
        await using var again = await Wire.ConnectAsync(_shim.RuntimeApi);
        await again.SendAsync(Post(invocation.RequestId, "\"whole\""));
        var accepted = await again.ReadResponseAsync();

        Assert.Equal(202, accepted.Status);
        Assert.Equal("\"whole\"", (await _server.ResultAsync(invocation.RequestId)).Text());
    }

    [Fact]
    public async Task Held_next_whose_client_went_away_is_not_handed_the_invocation()
    {
        int port;
        await using (var gone = await Wire.ConnectAsync(_shim.RuntimeApi))
        {
            port = gone.LocalPort;
            await gone.SendAsync(Next);
            // Give the poll the chance to be held in the shim before the client goes (the case passes either way).
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }

        // The shim noticed the close once its end of the connection has left CLOSE_WAIT (it closed it); bounded.
        await WaitForServerCloseAsync(port);
        var invocation = _server.Enqueue("""{"to":"the live one"}""");
        await using var live = await Wire.ConnectAsync(_shim.RuntimeApi);
        await live.SendAsync(Next);
        var next = await live.ReadResponseAsync();

        Assert.Equal(invocation.RequestId, next.Header("Lambda-Runtime-Aws-Request-Id"));
        await live.SendAsync(Post(invocation.RequestId, "1"));
        Assert.Equal(202, (await live.ReadResponseAsync()).Status);
    }

    private async Task WaitForServerCloseAsync(int clientPort)
    {
        var apiPort = int.Parse(_shim.RuntimeApi[(_shim.RuntimeApi.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var local = $":{apiPort:X4} ";
        var remote = $":{clientPort:X4} ";
        for (var i = 0; i < 600; i++)
        {
            var waiting = File.ReadLines("/proc/net/tcp").Any(l =>
            {
                var f = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return f.Length > 3 && (f[1] + " ").EndsWith(local, StringComparison.Ordinal) && (f[2] + " ").EndsWith(remote, StringComparison.Ordinal) && f[3] == "08";
            });
            if (!waiting)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    [Fact]
    public async Task Http10_request_is_answered_and_its_connection_closed_unless_kept_alive()
    {
        var invocation = _server.Enqueue("""{"v":"1.0"}""");
        await using (var wire = await Wire.ConnectAsync(_shim.RuntimeApi))
        {
            await wire.SendAsync("GET /2018-06-01/runtime/invocation/next HTTP/1.0\r\n\r\n");
            var next = await wire.ReadResponseAsync();
            Assert.Equal(200, next.Status);
            Assert.Equal("""{"v":"1.0"}""", next.Body);
            Assert.True(await wire.ClosedAsync(), "HTTP/1.0 closes after the response");
        }

        await using var kept = await Wire.ConnectAsync(_shim.RuntimeApi);
        await kept.SendAsync($"POST /2018-06-01/runtime/invocation/{invocation.RequestId}/response HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n10");
        var accepted = await kept.ReadResponseAsync();
        Assert.Equal(202, accepted.Status);
        Assert.Equal("\"10\"", "\"" + (await _server.ResultAsync(invocation.RequestId)).Text() + "\"");
        await kept.SendAsync($"POST /2018-06-01/runtime/invocation/{invocation.RequestId}/response HTTP/1.0\r\nContent-Length: 2\r\n\r\n11");
        Assert.Equal(403, (await kept.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task Connection_close_request_is_answered_then_closed()
    {
        var invocation = _server.Enqueue("{}");
        await using var wire = await Wire.ConnectAsync(_shim.RuntimeApi);
        await wire.SendAsync("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rt\r\nConnection: close\r\n\r\n");
        var next = await wire.ReadResponseAsync();

        Assert.Equal(invocation.RequestId, next.Header("Lambda-Runtime-Aws-Request-Id"));
        Assert.Equal("close", next.Header("Connection"));
        Assert.True(await wire.ClosedAsync(), "the connection is closed after the response");
    }

    private Task AssertServesAsync() => AssertServesAsync(_server, _shim.RuntimeApi);

    /// <summary>The Runtime API at <paramref name="api"/> still hands out an invocation of <paramref name="server"/> and takes its result.</summary>
    /// <param name="log">What the shim logged, for the failure message (in-process shims).</param>
    internal static async Task AssertServesAsync(PullServer server, string api, Func<string>? log = null)
    {
        var invocation = server.Enqueue("""{"still":"serving"}""");
        await using var wire = await Wire.ConnectAsync(api);
        await wire.SendAsync(Next);
        Response next;
        try
        {
            next = await wire.ReadResponseAsync();
        }
        catch (OperationCanceledException e)
        {
            // Seen once in a loaded clean-clone run (RuntimeApiServerTimeoutTests, headers case): say which side held it.
            throw new TimeoutException(
                $"GET next got no answer in {Bound.TotalSeconds} s; the pull server {(server.Delivered.Contains(invocation.RequestId) ? "had answered a pull with the invocation" : "still held the invocation (the shim never took it)")}."
                + (log is null ? "" : " The shim logged:\n" + log()), e);
        }

        Assert.Equal(invocation.RequestId, next.Header("Lambda-Runtime-Aws-Request-Id"));
        await wire.SendAsync(Post(invocation.RequestId, "1"));
        Assert.Equal(202, (await wire.ReadResponseAsync()).Status);
    }

    /// <summary>One raw connection to the Runtime API: writes bytes, reads responses (Content-Length framed or none).</summary>
    internal sealed class Wire : IAsyncDisposable
    {
        private readonly Socket _socket;
        private readonly List<byte> _pending = [];

        private Wire(Socket socket) => _socket = socket;

        public int LocalPort => ((System.Net.IPEndPoint)_socket.LocalEndPoint!).Port;

        public static async Task<Wire> ConnectAsync(string address)
        {
            var colon = address.LastIndexOf(':');
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(address[..colon], int.Parse(address[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            return new Wire(socket);
        }

        public async Task SendAsync(string text) => await _socket.SendAsync(Encoding.Latin1.GetBytes(text), SocketFlags.None);

        public async Task<Response> ReadResponseAsync()
        {
            using var bound = new CancellationTokenSource(Bound);
            int end;
            while ((end = IndexOf("\r\n\r\n"u8)) < 0)
            {
                await ReceiveAsync(bound.Token, "a response head");
            }

            var head = Encoding.Latin1.GetString([.. _pending.GetRange(0, end)]).Split("\r\n");
            _pending.RemoveRange(0, end + 4);
            var status = int.Parse(head[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            var headers = head.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
            var length = headers.TryGetValue("Content-Length", out var value) ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : 0;
            while (_pending.Count < length)
            {
                await ReceiveAsync(bound.Token, "a response body");
            }

            var body = Encoding.UTF8.GetString([.. _pending.GetRange(0, length)]);
            _pending.RemoveRange(0, length);
            return new Response(status, headers, body);
        }

        /// <summary>True when the server closes the connection (reads until its end, bounded).</summary>
        public async Task<bool> ClosedAsync() => await ReadUntilClosedAsync() is not null;

        /// <summary>What the server sends (not yet read) until it closes the connection, bounded; null when it keeps it open.</summary>
        public async Task<string?> ReadUntilClosedAsync()
        {
            using var bound = new CancellationTokenSource(Bound);
            var buffer = new byte[4096];
            try
            {
                int read;
                while ((read = await _socket.ReceiveAsync(buffer, SocketFlags.None, bound.Token)) > 0)
                {
                    _pending.AddRange(buffer.AsSpan(0, read));
                }
            }
            catch (SocketException)
            {
                // reset: closed all the same
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            var text = Encoding.Latin1.GetString([.. _pending]);
            _pending.Clear();
            return text;
        }

        private async Task ReceiveAsync(CancellationToken cancellationToken, string what)
        {
            var buffer = new byte[64 * 1024];
            var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                throw new IOException($"The server closed the connection before {what}.");
            }

            _pending.AddRange(buffer.AsSpan(0, read));
        }

        private int IndexOf(ReadOnlySpan<byte> value) => _pending.ToArray().AsSpan().IndexOf(value);

        public ValueTask DisposeAsync()
        {
            _socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    internal sealed record Response(int Status, Dictionary<string, string> Headers, string Body)
    {
        public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
    }
}

/// <summary>Every case of <see cref="RuntimeApiWireTests"/> against Kestrel's Runtime API (FNOP_RUNTIME_API_SERVER=kestrel).</summary>
public sealed class RuntimeApiWireTestsOnKestrel : RuntimeApiWireTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
