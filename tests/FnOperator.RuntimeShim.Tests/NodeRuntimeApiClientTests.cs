using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The node bootstrap's own HTTP/1.1 client (bootstraps/node/runtime-api.mjs) against a scripted TCP server that answers
/// in the shapes HTTP allows besides the shim's usual Content-Length answers: chunked with extensions and trailers, an
/// interim 100, repeated headers, `Connection: close`, a body up to the end of the connection, a reset mid-answer. The
/// client runs in a real node process; the server records which connection each request came on.
/// </summary>
public sealed class NodeRuntimeApiClientTests
{
    private const string Script = """
        import { RuntimeApiClient } from "CLIENT";
        const client = new RuntimeApiClient("127.0.0.1", PORT, 1);
        const out = [];
        for (const path of ["/length", "/chunked", "/interim", "/split-head", "/split-chunk", "/close", "/until-close"]) {
          const r = await client.request("GET", path);
          out.push({ path, status: r.status, cookie: r.headers["set-cookie"] ?? null, body: r.body.toString("utf8") });
        }
        const echo = await client.request("POST", "/echo", "h\u00e9llo", { "Content-Type": "application/json", "X-Type": "bad\r\nInjected: 1" });
        out.push({ path: "/echo", status: echo.status, cookie: null, body: echo.body.toString("utf8") });
        // Pipelined: two requests in one write, answered in order (the second's answer in three writes; then two
        // answers in one write).
        const [posted, length] = client.pipeline([["POST", "/echo", "one", { "Content-Type": "application/json" }], ["GET", "/length"]]);
        out.push({ path: "/pipe-post", status: (await posted).status, cookie: null, body: "" });
        out.push({ path: "/pipe-length", status: (await length).status, cookie: null, body: (await length).body.toString("utf8") });
        // The first request unawaited: no promise for it, its answer read and dropped, the next one answered.
        const [dropped, afterDropped] = client.pipeline([["POST", "/echo", "three", { "Content-Type": "application/json" }], ["GET", "/length"]], 1);
        out.push({ path: "/pipe-unawaited", status: (await afterDropped).status, cookie: String(dropped), body: (await afterDropped).body.toString("utf8") });
        const [first, second] = client.pipeline([["GET", "/double"], ["GET", "/second"]]);
        out.push({ path: "/double", status: (await first).status, cookie: null, body: (await first).body.toString("utf8") + (await second).body.toString("utf8") });
        // A reset mid-answer rejects the answer it cut; the one before it was already answered.
        const [before, cut] = client.pipeline([["POST", "/echo", "two"], ["GET", "/reset"]]);
        out.push({ path: "/pipe-before-reset", status: (await before).status, cookie: null, body: "" });
        try {
          await cut;
          out.push({ path: "/reset", status: 0, cookie: null, body: "resolved" });
        } catch (e) {
          out.push({ path: "/reset", status: 0, cookie: null, body: "rejected" });
        }
        const hold = await client.request("GET", "/hold");
        out.push({ path: "/hold", status: hold.status, cookie: null, body: hold.body.toString("utf8") });
        // A body larger than the client's 64 KiB read buffer, in several writes: every byte in place.
        const big = await client.request("GET", "/big");
        const expected = Buffer.from(Array.from({ length: 200000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(""), "latin1");
        out.push({ path: "/big", status: big.status, cookie: null, body: `${big.body.length}:${big.body.equals(expected)}` });
        console.log(JSON.stringify(out));
        // No exit call: the idle pooled connection (the server keeps /hold's open) must not keep the process alive.
        """;

    [Fact]
    public async Task Client_reads_every_answer_shape_reuses_connections_and_lets_the_process_exit_when_idle()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var requests = new List<(int Connection, string Head, string Body)>();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var server = ServeAsync(listener, requests, stop.Token);

        var folder = Directory.CreateTempSubdirectory("fnop-node-client-").FullName;
        try
        {
            var client = Path.Combine(Repo.ShimDirectory, "bootstraps", "node", "runtime-api.mjs");
            var script = Path.Combine(folder, "client.mjs");
            await File.WriteAllTextAsync(script, Script.Replace("CLIENT", new Uri(client).AbsoluteUri, StringComparison.Ordinal).Replace("PORT", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
            using var node = Process.Start(new ProcessStartInfo("node", [script]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var stdout = node.StandardOutput.ReadToEndAsync();
            var stderr = node.StandardError.ReadToEndAsync();
            using var exitWait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await node.WaitForExitAsync(exitWait.Token);
            }
            catch (OperationCanceledException)
            {
                node.Kill();
                Assert.Fail("node did not exit by itself: an idle connection kept its event loop alive");
            }

            Assert.True(node.ExitCode == 0, await stderr);
            var results = JsonDocument.Parse(await stdout).RootElement.EnumerateArray()
                .ToDictionary(e => e.GetProperty("path").GetString()!, e => e);
            Assert.Equal("0123456789", results["/length"].GetProperty("body").GetString());
            Assert.Equal("hello world", results["/chunked"].GetProperty("body").GetString());
            Assert.Equal(202, results["/interim"].GetProperty("status").GetInt32());
            Assert.Equal("a=1, b=2", results["/interim"].GetProperty("cookie").GetString());
            Assert.Equal("bye", results["/close"].GetProperty("body").GetString());
            Assert.Equal("split across reads", results["/split-head"].GetProperty("body").GetString());
            Assert.Equal("x-header-value", results["/split-head"].GetProperty("cookie").GetString());
            Assert.Equal("0123456789abcdef", results["/split-chunk"].GetProperty("body").GetString());
            Assert.Equal("200000:true", results["/big"].GetProperty("body").GetString());
            Assert.Equal("until the end", results["/until-close"].GetProperty("body").GetString());
            Assert.Equal("rejected", results["/reset"].GetProperty("body").GetString());
            Assert.Equal(202, results["/pipe-post"].GetProperty("status").GetInt32());
            Assert.Equal("0123456789", results["/pipe-length"].GetProperty("body").GetString());
            Assert.Equal("AB", results["/double"].GetProperty("body").GetString());
            Assert.Equal("undefined", results["/pipe-unawaited"].GetProperty("cookie").GetString());
            Assert.Equal("0123456789", results["/pipe-unawaited"].GetProperty("body").GetString());
            Assert.Equal(202, results["/pipe-before-reset"].GetProperty("status").GetInt32());
            // The pipelined requests went out in order on one connection, each head and body intact.
            var pipelined = requests.Where(r => r.Connection == 2).Select(r => r.Head.Split(' ')[0] + " " + r.Head.Split(' ')[1] + " " + r.Body).ToList();
            Assert.Equal(["POST /echo h\u00e9llo", "POST /echo one", "GET /length ", "POST /echo three", "GET /length ", "GET /double ", "GET /second ", "POST /echo two", "GET /reset "], pipelined);
            Assert.Equal("ok", results["/hold"].GetProperty("body").GetString());

            // The POST: Content-Length in bytes of the UTF-8 body, no header line injected.
            var echo = requests.First(r => r.Head.StartsWith("POST /echo ", StringComparison.Ordinal));
            Assert.Contains("\r\nContent-Length: 6\r\n", echo.Head, StringComparison.Ordinal);
            Assert.Equal("h\u00e9llo", echo.Body);
            Assert.DoesNotContain("\r\nInjected", echo.Head, StringComparison.Ordinal);
            Assert.Contains("\r\nX-Type: badInjected: 1\r\n", echo.Head, StringComparison.Ordinal);

            // One keep-alive connection until the server closed it (/close), a new one after each close.
            int On(string path) => requests.First(r => r.Head.StartsWith($"GET {path} ", StringComparison.Ordinal) || r.Head.StartsWith($"POST {path} ", StringComparison.Ordinal)).Connection;
            Assert.Equal([0, 0, 0, 0, 0, 0, 1, 2, 2, 3, 3], new[] { "/length", "/chunked", "/interim", "/split-head", "/split-chunk", "/close", "/until-close", "/echo", "/reset", "/hold", "/big" }.Select(On));
        }
        finally
        {
            await stop.CancelAsync();
            listener.Stop();
            await server.ContinueWith(_ => { }, TaskScheduler.Default);
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task ServeAsync(TcpListener listener, List<(int, string, string)> requests, CancellationToken cancellationToken)
    {
        var held = new List<TcpClient>();
        try
        {
            for (var connection = 0; ; connection++)
            {
                var client = await listener.AcceptTcpClientAsync(cancellationToken);
                held.Add(client);
                _ = ConnectionAsync(client, connection, requests, cancellationToken);
            }
        }
        finally
        {
            foreach (var client in held)
            {
                client.Dispose();
            }
        }
    }

    private static async Task ConnectionAsync(TcpClient client, int connection, List<(int, string, string)> requests, CancellationToken cancellationToken)
    {
        var stream = client.GetStream();
        var pending = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int end;
                while ((end = IndexOf(pending, "\r\n\r\n"u8)) < 0)
                {
                    var read = await stream.ReadAsync(buffer, cancellationToken);
                    if (read == 0)
                    {
                        return;
                    }

                    pending.AddRange(buffer.AsSpan(0, read).ToArray());
                }

                var head = Encoding.Latin1.GetString(pending.GetRange(0, end + 4).ToArray());
                pending.RemoveRange(0, end + 4);
                var length = head.Split("\r\n").Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                    .Select(l => int.Parse(l[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
                while (pending.Count < length)
                {
                    var read = await stream.ReadAsync(buffer, cancellationToken);
                    if (read == 0)
                    {
                        return;
                    }

                    pending.AddRange(buffer.AsSpan(0, read).ToArray());
                }

                var body = Encoding.UTF8.GetString(pending.GetRange(0, length).ToArray());
                pending.RemoveRange(0, length);
                lock (requests)
                {
                    requests.Add((connection, head, body));
                }

                var path = head.Split(' ')[1];
                async Task Send(string text) => await stream.WriteAsync(Encoding.Latin1.GetBytes(text), cancellationToken);
                switch (path)
                {
                    case "/length":
                        // One answer in three writes: the client must wait for the whole body.
                        await Send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nDate: x\r\n\r\n012");
                        await Task.Delay(50, cancellationToken);
                        await Send("3456");
                        await Task.Delay(50, cancellationToken);
                        await Send("789");
                        break;
                    case "/chunked":
                        await Send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n wor");
                        await Task.Delay(50, cancellationToken);
                        await Send("ld\r\n0\r\nX-Trailer: t\r\n\r\n");
                        break;
                    case "/split-head":
                        // The head in three writes, cut inside a header line and inside the blank line; a known name
                        // in another case and a value with more around it than one space.
                        await Send("HTTP/1.1 200 OK\r\ncontent-length: 18\r\nSet-Co");
                        await Task.Delay(50, cancellationToken);
                        await Send("okie:\t x-header-value \t\r\n\r");
                        await Task.Delay(50, cancellationToken);
                        await Send("\nsplit across reads");
                        break;
                    case "/split-chunk":
                        // A chunk-size line cut in two.
                        await Send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1");
                        await Task.Delay(50, cancellationToken);
                        await Send("0\r\n0123456789abcdef\r\n0\r\n\r\n");
                        break;
                    case "/big":
                        var big = new string(Enumerable.Range(0, 200_000).Select(i => (char)('a' + (i % 26))).ToArray());
                        await Send("HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + big[..70_000]);
                        await Task.Delay(50, cancellationToken);
                        await Send(big[70_000..]);
                        break;
                    case "/interim":
                        await Send("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n");
                        break;
                    case "/close":
                        await Send("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye");
                        client.Dispose();
                        return;
                    case "/until-close":
                        await Send("HTTP/1.1 200 OK\r\n\r\nuntil the end");
                        client.Dispose();
                        return;
                    case "/double":
                        // This answer and the next request's in one write.
                        await Send("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB");
                        break;
                    case "/second":
                        break;
                    case "/hold":
                        await Send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                        break;
                    case "/echo":
                        await Send("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
                        break;
                    case "/reset":
                        await Send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
                        client.Client.LingerState = new LingerOption(true, 0);
                        client.Client.Close(); // RST
                        return;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The client went away, or the test is over.
        }
    }

    private static int IndexOf(List<byte> bytes, ReadOnlySpan<byte> pattern)
    {
        for (var i = 0; i + pattern.Length <= bytes.Count; i++)
        {
            var match = true;
            for (var j = 0; j < pattern.Length && match; j++)
            {
                match = bytes[i + j] == pattern[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }
}
