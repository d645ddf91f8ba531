using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Streaming;

/// <summary>
/// A worker speaking the pull protocol as the shim does for a streamed response, step by step under the test's control:
/// take the next invocation, open its stream, write pieces, end it, post the result.
/// </summary>
public sealed class StreamingWorker(Uri gateway, FunctionKey key) : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient client = PullClient(gateway, key);

    public static HttpClient PullClient(Uri gateway, FunctionKey key, string? credentialOf = null)
    {
        var client = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Add(PullProtocol.CredentialHeader,
            PullProtocol.Credential(TestGateway.ClusterKey, key.Namespace, credentialOf ?? key.Name, FunctionRegistry.Latest));
        return client;
    }

    public async Task<Invocation> NextAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            using var response = await client.GetAsync(PullProtocol.NextPath(key.Namespace, key.Name, FunctionRegistry.Latest) + "?waitMs=1000", timeout.Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return (await response.Content.ReadFromJsonAsync<Invocation>(Json, timeout.Token))!;
            }
        }
    }

    /// <summary>Opens the stream POST (headers sent at once); write to it with <see cref="OpenStream.WriteAsync"/>.</summary>
    public OpenStream Stream(Invocation invocation, string contentType = "application/octet-stream", HttpClient? with = null) =>
        new(with ?? client, invocation, contentType);

    public async Task<HttpStatusCode> CompleteAsync(Invocation invocation, InvocationResult result)
    {
        using var post = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(invocation.RequestId)) { Content = JsonContent.Create(result, options: Json) };
        post.Headers.Add(PullProtocol.LeaseTokenHeader, invocation.LeaseToken);
        using var response = await client.SendAsync(post);
        return response.StatusCode;
    }

    public static InvocationResult Streamed(Invocation invocation, string? logTail = null) => new()
    {
        RequestId = invocation.RequestId,
        Outcome = InvocationOutcome.Success,
        Payload = [],
        ExecutedVersion = invocation.Version,
        LogTail = logTail,
    };

    public void Dispose() => client.Dispose();

    public sealed class OpenStream
    {
        private readonly Pipe pipe = new();
        private readonly Task<HttpResponseMessage> response;

        internal OpenStream(HttpClient client, Invocation invocation, string contentType)
        {
            // As the shim does: to the caller's replica when the invocation names one, else to the gateway pulled from.
            var path = invocation.StreamTo is { Length: > 0 } to
                ? new Uri(new Uri(to), PullProtocol.StreamPath(invocation.RequestId))
                : new Uri(PullProtocol.StreamPath(invocation.RequestId), UriKind.Relative);
            var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new PipeContent(pipe.Reader, contentType) };
            request.Headers.ExpectContinue = true;
            response = client.SendAsync(request);
        }

        public async Task WriteAsync(string text) => await WriteAsync(Encoding.UTF8.GetBytes(text));

        public async Task WriteAsync(byte[] bytes)
        {
            await pipe.Writer.WriteAsync(bytes);
        }

        /// <summary>Ends the body normally and returns the gateway's status.</summary>
        public async Task<HttpStatusCode> EndAsync()
        {
            await pipe.Writer.CompleteAsync();
            using var answered = await response.WaitAsync(TimeSpan.FromSeconds(60));
            return answered.StatusCode;
        }

        /// <summary>Cuts the body part-way (as a shim whose runtime timed out does).</summary>
        public async Task CutAsync()
        {
            await pipe.Writer.CompleteAsync(new IOException("cut"));
            try
            {
                using var _ = await response.WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (HttpRequestException)
            {
            }
        }

        /// <summary>The gateway's answer when it refuses the stream without reading it.</summary>
        public async Task<HttpStatusCode> RefusedAsync()
        {
            await pipe.Writer.CompleteAsync();
            using var answered = await response.WaitAsync(TimeSpan.FromSeconds(60));
            return answered.StatusCode;
        }
    }

    private sealed class PipeContent : HttpContent
    {
        private readonly PipeReader reader;

        public PipeContent(PipeReader reader, string contentType)
        {
            this.reader = reader;
            Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            while (true)
            {
                var read = await reader.ReadAsync();
                foreach (var segment in read.Buffer)
                {
                    await stream.WriteAsync(segment);
                }

                await stream.FlushAsync();
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return;
                }
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>A reader of the AWS event stream framing that checks both CRCs, one message at a time as they arrive.</summary>
public sealed class EventStreamReader(Stream stream)
{
    public sealed record Message(Dictionary<string, string> Headers, byte[] Payload)
    {
        public string EventType => Headers[":event-type"];

        public string Text => Encoding.UTF8.GetString(Payload);
    }

    /// <summary>The next message, or null at the end of the stream.</summary>
    public async Task<Message?> NextAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var prelude = new byte[12];
        var got = await stream.ReadAtLeastAsync(prelude, 12, throwOnEndOfStream: false, timeout.Token);
        if (got == 0)
        {
            return null;
        }

        Assert.Equal(12, got);
        var total = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(prelude);
        var headersLength = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(prelude.AsSpan(4));
        Assert.Equal(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(prelude.AsSpan(8)), Crc32(prelude.AsSpan(0, 8)));
        var message = new byte[total];
        prelude.CopyTo(message, 0);
        await stream.ReadExactlyAsync(message.AsMemory(12), timeout.Token);
        Assert.Equal(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(total - 4)), Crc32(message.AsSpan(0, total - 4)));
        var headers = new Dictionary<string, string>();
        var at = 12;
        while (at < 12 + headersLength)
        {
            var nameLength = message[at++];
            var name = Encoding.UTF8.GetString(message, at, nameLength);
            at += nameLength;
            Assert.Equal(7, message[at++]);
            var valueLength = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(at));
            at += 2;
            headers[name] = Encoding.UTF8.GetString(message, at, valueLength);
            at += valueLength;
        }

        return new Message(headers, message[(12 + headersLength)..(total - 4)]);
    }

    /// <summary>CRC-32/ISO-HDLC, bit by bit (independent of the gateway's table-driven one).</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
