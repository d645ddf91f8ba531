using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using FnOperator.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>The gateway's side of the pull protocol, in miniature: a queue the shim long-polls and a table of results.</summary>
public sealed class PullServer : IAsyncDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan ResultWait = TimeSpan.FromSeconds(120);
    private readonly Channel<Invocation> _queue = Channel.CreateUnbounded<Invocation>();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InvocationResult>> _results = new();
    private readonly WebApplication _app;
    private volatile bool _gone;

    private PullServer(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public ConcurrentQueue<string> Released { get; } = new();

    /// <summary>Streamed responses the shim sent (<see cref="PullProtocol.StreamPath"/>), by request id.</summary>
    public ConcurrentDictionary<string, ReceivedStream> Streams { get; } = new();

    /// <summary>When set, the stream path answers 404 (no caller waits on this gateway) without reading the body.</summary>
    public bool RefuseStreams { get; set; }

    /// <summary>How each result POST was framed: its declared Content-Length and Transfer-Encoding header, in order.</summary>
    public ConcurrentQueue<(long? ContentLength, string? TransferEncoding, long BodyBytes)> ResultFraming { get; } = new();

    /// <summary>How a result posted with <see cref="PullProtocol.NextAfterResultParameter"/> is answered (default: as a gateway that does not know it, 202).</summary>
    public NextAfterResultMode NextAfterResult { get; set; }

    /// <summary>When set, a result that asked for its next is recorded and then its connection is cut (the answer never comes).</summary>
    public bool CutHoldsAfterRecording { get; set; }

    private int _cutBeforeRecording;

    /// <summary>Cuts the connection of the next <paramref name="count"/> result posts after reading them, recording nothing.</summary>
    public void CutResultsBeforeRecording(int count) => Interlocked.Exchange(ref _cutBeforeRecording, count);

    /// <summary>Every result POST: its request id and whether it asked for its next, in order.</summary>
    public ConcurrentQueue<(string RequestId, bool AskedNext)> ResultPosts { get; } = new();

    /// <summary>Request ids of results whose answer is being held (written when the hold starts).</summary>
    public Channel<string> Holds { get; } = Channel.CreateUnbounded<string>();

    /// <summary>Request ids of results whose held answer ended because the shim went away.</summary>
    public ConcurrentQueue<string> HoldsAborted { get; } = new();

    /// <summary>Request ids handed to the shim in the answer to a result, in order.</summary>
    public ConcurrentQueue<string> DeliveredInResult { get; } = new();

    /// <summary>Request ids handed to the shim by `next`, in order.</summary>
    public ConcurrentQueue<string> Delivered { get; } = new();

    public static async Task<PullServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var server = new PullServer(builder.Build());
        server.Map();
        await server._app.StartAsync();
        server.BaseUrl = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return server;
    }

    /// <summary>Queues an invocation whose payload is <paramref name="eventJson"/> and waits for its result.</summary>
    public async Task<InvocationResult> InvokeAsync(string eventJson, bool tailLog = false, string? requestId = null)
    {
        var invocation = Enqueue(eventJson, tailLog, requestId);
        return await _results[invocation.RequestId].Task.WaitAsync(ResultWait);
    }

    public Invocation Enqueue(string eventJson, bool tailLog = false, string? requestId = null, bool stream = false, string? traceId = null)
    {
        var invocation = new Invocation
        {
            RequestId = requestId ?? Guid.NewGuid().ToString(),
            Namespace = "default",
            FunctionName = "fn",
            Version = "$LATEST",
            InvokedFunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:fn",
            Type = InvocationType.RequestResponse,
            Payload = Encoding.UTF8.GetBytes(eventJson),
            ClientContext = """{"custom":{"k":"v"}}""",
            TraceId = traceId ?? "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            TailLog = tailLog,
            AcceptedAt = DateTimeOffset.UtcNow,
            StreamResponse = stream,
        };
        if (stream)
        {
            Streams[invocation.RequestId] = new ReceivedStream();
        }

        _results[invocation.RequestId] = new TaskCompletionSource<InvocationResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Writer.TryWrite(invocation);
        return invocation;
    }

    public Task<InvocationResult> ResultAsync(string requestId) => _results[requestId].Task.WaitAsync(ResultWait);

    /// <summary>From now on `next` answers 410 Gone (the function was deleted).</summary>
    public void Close() => _gone = true;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>The answer to a result that asked for its next, as the gateway of <see cref="NextAfterResult"/> gives it.</summary>
    private async Task HoldAsync(string requestId, int waitMs, HttpContext context)
    {
        context.Response.StatusCode = 200;
        if (NextAfterResult == NextAfterResultMode.EarlyHeaders)
        {
            await context.Response.StartAsync();
            await context.Response.Body.FlushAsync();
        }

        Holds.Writer.TryWrite(requestId);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        wait.CancelAfter(waitMs);
        Invocation invocation;
        try
        {
            invocation = await _queue.Reader.ReadAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                HoldsAborted.Enqueue(requestId);
            }
            else if (NextAfterResult == NextAfterResultMode.Held)
            {
                context.Response.ContentLength = 0;
            }

            return;
        }

        DeliveredInResult.Enqueue(invocation.RequestId);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(invocation, Json);
        if (NextAfterResult == NextAfterResultMode.Held)
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            context.Response.ContentLength = bytes.Length;
        }

        await context.Response.Body.WriteAsync(bytes);
    }

    private void Map()
    {
        _app.MapGet("/_fnop/v1/functions/{ns}/{name}/versions/{version}/next", async (int? waitMs, HttpContext context) =>
        {
            if (_gone)
            {
                return Results.StatusCode(410);
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            wait.CancelAfter(waitMs ?? 20_000);
            try
            {
                var invocation = await _queue.Reader.ReadAsync(wait.Token);
                Delivered.Enqueue(invocation.RequestId);
                return Results.Json(invocation, Json);
            }
            catch (OperationCanceledException)
            {
                return _gone ? Results.StatusCode(410) : Results.NoContent();
            }
        });
        _app.MapPost("/_fnop/v1/invocations/{requestId}/result", async (string requestId, HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            ResultFraming.Enqueue((context.Request.ContentLength, context.Request.Headers.TransferEncoding.FirstOrDefault(), body.Length));
            var askedNext = int.TryParse(context.Request.Query[PullProtocol.NextAfterResultParameter], out var waitMs);
            ResultPosts.Enqueue((requestId, askedNext));
            if (Interlocked.Decrement(ref _cutBeforeRecording) >= 0)
            {
                context.Abort();
                return;
            }

            Interlocked.Exchange(ref _cutBeforeRecording, 0);
            body.Position = 0;
            var result = await JsonSerializer.DeserializeAsync<InvocationResult>(body, Json);
            if (!(result is not null && _results.TryGetValue(requestId, out var pending) && pending.TrySetResult(result)))
            {
                context.Response.StatusCode = 404;
                return;
            }

            if (!askedNext || NextAfterResult == NextAfterResultMode.Ignored)
            {
                context.Response.StatusCode = 202;
                return;
            }

            if (CutHoldsAfterRecording)
            {
                context.Abort();
                return;
            }

            await HoldAsync(requestId, waitMs, context);
        });
        _app.MapPost("/_fnop/v1/invocations/{requestId}/stream", async (string requestId, HttpContext context) =>
        {
            if (RefuseStreams || !Streams.TryGetValue(requestId, out var stream))
            {
                return Results.NotFound();
            }

            stream.ContentType = context.Request.ContentType;
            var buffer = new byte[64 * 1024];
            try
            {
                int read;
                while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
                {
                    stream.Chunks.Writer.TryWrite(buffer[..read]);
                }

                stream.Chunks.Writer.TryComplete();
                stream.Ended.TrySetResult(true);
                return Results.StatusCode(202);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
            {
                stream.Chunks.Writer.TryComplete();
                stream.Ended.TrySetResult(false);
                return Results.Empty;
            }
        });
        _app.MapPost("/_fnop/v1/invocations/{requestId}/release", (string requestId) =>
        {
            Released.Enqueue(requestId);
            return Results.StatusCode(202);
        });
    }
}

/// <summary>How <see cref="PullServer"/> answers a result posted with <see cref="PullProtocol.NextAfterResultParameter"/>.</summary>
public enum NextAfterResultMode
{
    /// <summary>202, as a gateway that does not know the parameter.</summary>
    Ignored,

    /// <summary>The whole answer held until the next invocation comes (one write, Content-Length), or an empty 200: today's gateway.</summary>
    Held,

    /// <summary>The 200's headers at once, then a chunked body when the next invocation comes: the gateway before issue #19's hold.</summary>
    EarlyHeaders,
}

/// <summary>One streamed response as the pull server received it: each read of the body, in order.</summary>
public sealed class ReceivedStream
{
    private readonly StringBuilder _text = new();

    public string? ContentType { get; set; }

    public Channel<byte[]> Chunks { get; } = Channel.CreateUnbounded<byte[]>();

    /// <summary>True when the body ended normally, false when the shim cut it.</summary>
    public TaskCompletionSource<bool> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Every byte read so far.</summary>
    public List<byte> Bytes { get; } = [];

    /// <summary>Reads chunks until the text received so far contains <paramref name="expected"/> (60 s at most).</summary>
    public async Task<string> ReadUntilAsync(string expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!_text.ToString().Contains(expected, StringComparison.Ordinal))
        {
            var chunk = await Chunks.Reader.ReadAsync(timeout.Token);
            Bytes.AddRange(chunk);
            _text.Append(Encoding.UTF8.GetString(chunk));
        }

        return _text.ToString();
    }

    /// <summary>Reads to the end of the stream; the text of everything received.</summary>
    public async Task<string> ReadToEndAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var chunk in Chunks.Reader.ReadAllAsync(timeout.Token))
        {
            Bytes.AddRange(chunk);
            _text.Append(Encoding.UTF8.GetString(chunk));
        }

        return _text.ToString();
    }
}
