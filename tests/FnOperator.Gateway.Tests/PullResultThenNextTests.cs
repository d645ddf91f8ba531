using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>
/// A result posted with <c>?next=N</c> (<see cref="PullProtocol.NextAfterResultParameter"/>) is recorded at once and its
/// response is the worker's long poll for the next invocation: one exchange per invocation instead of two.
/// </summary>
public sealed class PullResultThenNextTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task The_caller_is_answered_before_the_next_invocation_exists_and_that_invocation_arrives_in_the_results_response(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("chain");
        using var worker = gateway.PullClient(key);
        var first = gateway.Client.SendAsync(TestGateway.Invoke("chain", """{"n":1}"""));
        var one = await LeaseAsync(worker, key);

        // As a shim before issue #19's hold reads it (headers first, then the body): the gateway now sends both at once.
        var holding = worker.SendAsync(ResultRequest(one, "\"one\"", "?next=60000"), HttpCompletionOption.ResponseHeadersRead);
        using var firstAnswer = await first;
        // The second call is made only now, after the first caller has its answer, so the response held open above
        // can only carry it if that response is a long poll.
        var second = gateway.Client.SendAsync(TestGateway.Invoke("chain", """{"n":2}"""));
        using var held = await holding;
        var two = JsonSerializer.Deserialize<Invocation>(await held.Content.ReadAsByteArrayAsync(), Json)!;
        using var plain = await worker.SendAsync(ResultRequest(two, "\"two\""));
        using var secondAnswer = await second;

        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        Assert.Equal("\"one\"", await firstAnswer.Content.ReadAsStringAsync());
        Assert.Equal("""{"n":2}""", System.Text.Encoding.UTF8.GetString(two.Payload));
        Assert.False(string.IsNullOrEmpty(two.LeaseToken));
        Assert.NotEqual(one.RequestId, two.RequestId);
        Assert.Equal(HttpStatusCode.Accepted, plain.StatusCode);
        Assert.Equal("\"two\"", await secondAnswer.Content.ReadAsStringAsync());
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task With_no_work_within_the_wait_the_response_ends_empty_and_the_result_stays_recorded(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("idle");
        using var worker = gateway.PullClient(key);
        var call = gateway.Client.SendAsync(TestGateway.Invoke("idle", """{"n":1}"""));
        var one = await LeaseAsync(worker, key);

        using var held = await worker.SendAsync(ResultRequest(one, "\"done\"", "?next=300"));
        using var answer = await call;
        using var again = await worker.SendAsync(ResultRequest(one, "\"again\"", "?next=300"));

        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        Assert.Empty(await held.Content.ReadAsByteArrayAsync());
        Assert.Equal("\"done\"", await answer.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task The_held_answer_is_one_response_with_a_content_length_written_when_the_next_invocation_came(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("raw");
        using var worker = gateway.PullClient(key);
        var first = gateway.Client.SendAsync(TestGateway.Invoke("raw", """{"n":1}"""));
        var one = await LeaseAsync(worker, key);
        using var socket = await RawHttp.ConnectAsync(gateway.BaseAddress);

        await RawHttp.PostResultAsync(socket, key, one, "\"one\"", "?next=60000");
        using var firstAnswer = await first;
        using var second = await gateway.Client.SendAsync(TestGateway.Invoke("raw", """{"n":2}""", "Event"));
        var (head, body) = await RawHttp.ReadResponseAsync(socket);
        var two = JsonSerializer.Deserialize<Invocation>(body, Json)!;

        Assert.Equal("\"one\"", await firstAnswer.Content.ReadAsStringAsync());
        Assert.StartsWith("HTTP/1.1 200 ", head, StringComparison.Ordinal);
        // A Content-Length of the invocation's body: the headers could not have gone out before the invocation existed
        // (headers sent early, as before issue #19, have no length and a chunked body).
        Assert.Contains($"Content-Length: {body.Length}\r\n", head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Transfer-Encoding", head, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("""{"n":2}""", System.Text.Encoding.UTF8.GetString(two.Payload));
        Assert.False(string.IsNullOrEmpty(two.LeaseToken));
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task A_hold_that_ends_empty_is_one_empty_200(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("empty");
        using var worker = gateway.PullClient(key);
        var call = gateway.Client.SendAsync(TestGateway.Invoke("empty", """{"n":1}"""));
        var one = await LeaseAsync(worker, key);
        using var socket = await RawHttp.ConnectAsync(gateway.BaseAddress);

        await RawHttp.PostResultAsync(socket, key, one, "\"done\"", "?next=300");
        var (head, body) = await RawHttp.ReadResponseAsync(socket);
        using var answer = await call;

        Assert.StartsWith("HTTP/1.1 200 ", head, StringComparison.Ordinal);
        Assert.Contains("Content-Length: 0\r\n", head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Transfer-Encoding", head, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(body);
        Assert.Equal("\"done\"", await answer.Content.ReadAsStringAsync());
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task A_connection_cut_during_the_hold_loses_no_event_and_the_results_plain_repost_is_404(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("cut");
        using var worker = gateway.PullClient(key);
        var first = gateway.Client.SendAsync(TestGateway.Invoke("cut", """{"n":1}"""));
        var one = await LeaseAsync(worker, key);
        var socket = await RawHttp.ConnectAsync(gateway.BaseAddress);

        await RawHttp.PostResultAsync(socket, key, one, "\"one\"", "?next=60000");
        using var firstAnswer = await first;
        socket.LingerState = new System.Net.Sockets.LingerOption(true, 0); // a reset, as a dead shim's kernel sends
        socket.Dispose();
        using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("cut", """{"n":2}""", "Event"));
        var two = await LeaseAsync(worker, key);
        using var repost = await worker.SendAsync(ResultRequest(one, "\"one again\""));

        Assert.Equal("\"one\"", await firstAnswer.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("""{"n":2}""", System.Text.Encoding.UTF8.GetString(two.Payload));
        Assert.Equal(HttpStatusCode.NotFound, repost.StatusCode);
    }

    [Fact]
    public async Task A_gateway_stopping_during_a_hold_ends_it_and_the_result_stays_recorded()
    {
        var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, ShutdownTimeout = TimeSpan.FromSeconds(5) });
        HttpResponseMessage? held = null;
        var stopped = false;
        try
        {
            var key = gateway.Add("stopping");
            using var worker = gateway.PullClient(key);
            var call = gateway.Client.SendAsync(TestGateway.Invoke("stopping", """{"n":1}"""));
            var one = await LeaseAsync(worker, key);
            var holding = worker.SendAsync(ResultRequest(one, "\"done\"", "?next=60000"));
            using var answer = await call;

            await gateway.DisposeAsync();
            stopped = true;
            Exception? failure = null;
            try
            {
                held = await holding;
            }
            catch (HttpRequestException e)
            {
                failure = e;
            }

            Assert.Equal("\"done\"", await answer.Content.ReadAsStringAsync());
            // Either ends the hold for the shim: an empty 200 (it polls `next` again) or a lost connection (it posts the
            // result again plainly, PullInvocationSource): never an invocation, and never a hang.
            Assert.True(failure is not null || (held!.StatusCode == HttpStatusCode.OK && (await held.Content.ReadAsByteArrayAsync()).Length == 0),
                $"held answer: {held?.StatusCode} {failure?.Message}");
        }
        finally
        {
            held?.Dispose();
            if (!stopped)
            {
                await gateway.DisposeAsync();
            }
        }
    }

    private static HttpRequestMessage ResultRequest(Invocation invocation, string payload, string query = "")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(invocation.RequestId) + query)
        {
            Content = JsonContent.Create(TestWorker.Ok(invocation, payload), options: Json),
        };
        request.Headers.Add(PullProtocol.LeaseTokenHeader, invocation.LeaseToken!);
        return request;
    }

    private static async Task<Invocation> LeaseAsync(HttpClient client, FunctionKey key)
    {
        for (var i = 0; i < 60; i++)
        {
            using var response = await client.GetAsync(PullProtocol.NextPath(key.Namespace, key.Name, "$LATEST") + "?waitMs=1000");
            Assert.True(response.IsSuccessStatusCode, $"next answered {response.StatusCode}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return (await response.Content.ReadFromJsonAsync<Invocation>(Json))!;
            }
        }

        throw new TimeoutException("nothing leased");
    }

    /// <summary>HTTP/1.1 by hand, to see the bytes the gateway writes.</summary>
    private static class RawHttp
    {
        public static async Task<System.Net.Sockets.Socket> ConnectAsync(Uri baseAddress)
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(baseAddress.Host, baseAddress.Port);
            return socket;
        }

        public static async Task PostResultAsync(System.Net.Sockets.Socket socket, FunctionKey key, Invocation invocation, string payload, string query)
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(TestWorker.Ok(invocation, payload), Json);
            var head = $"POST {PullProtocol.ResultPath(invocation.RequestId)}{query} HTTP/1.1\r\nHost: localhost\r\n"
                + $"{PullProtocol.CredentialHeader}: {PullProtocol.Credential(TestGateway.ClusterKey, key.Namespace, key.Name, "$LATEST")}\r\n"
                + $"{PullProtocol.LeaseTokenHeader}: {invocation.LeaseToken}\r\n"
                + $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n";
            await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(head).Concat(body).ToArray());
        }

        /// <summary>Reads one response (its head up to the blank line, then Content-Length bytes); 60 s at most.</summary>
        public static async Task<(string Head, byte[] Body)> ReadResponseAsync(System.Net.Sockets.Socket socket)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var received = new List<byte>();
            var buffer = new byte[8192];
            int end;
            while ((end = IndexOfBlankLine(received)) < 0)
            {
                var n = await socket.ReceiveAsync(buffer, timeout.Token);
                Assert.True(n > 0, "the connection closed before the response's head");
                received.AddRange(buffer.AsSpan(0, n));
            }

            var head = System.Text.Encoding.ASCII.GetString(received.GetRange(0, end + 4).ToArray());
            var match = System.Text.RegularExpressions.Regex.Match(head, @"\r\nContent-Length: *(\d+)\r\n", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
            Assert.True(match.Success, "no Content-Length in:\n" + head);
            var length = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            while (received.Count < end + 4 + length)
            {
                var n = await socket.ReceiveAsync(buffer, timeout.Token);
                Assert.True(n > 0, "the connection closed before the response's body");
                received.AddRange(buffer.AsSpan(0, n));
            }

            return (head, received.GetRange(end + 4, length).ToArray());
        }

        private static int IndexOfBlankLine(List<byte> bytes)
        {
            for (var i = 0; i + 3 < bytes.Count; i++)
            {
                if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n')
                {
                    return i;
                }
            }

            return -1;
        }
    }
}
