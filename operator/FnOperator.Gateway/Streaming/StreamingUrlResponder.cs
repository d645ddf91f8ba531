using System.Buffers;
using System.Text;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Api;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Streaming;

/// <summary>
/// <see cref="IStreamingUrlResponder"/>: a RESPONSE_STREAM Function URL through the Invoke path (gate, queue, result wait),
/// answered as the function writes. See <see cref="UrlStream"/> for the mapping.
/// </summary>
public sealed class StreamingUrlResponder(FunctionRegistry functions, InvokeEndpoints invoke) : IStreamingUrlResponder
{
    public async Task RespondAsync(HttpContext context, Invocation invocation, IReadOnlyDictionary<string, string> extraHeaders, CancellationToken cancellationToken)
    {
        IResult result;
        if (!functions.TryResolve($"{invocation.Namespace}/{invocation.FunctionName}", invocation.Version, out var fn))
        {
            result = LambdaErrors.NotFound(invocation.InvokedFunctionArn);
        }
        else
        {
            result = await invoke.InvokeStreamingAsync(fn, invocation, context, new UrlStream(extraHeaders)).ConfigureAwait(false);
        }

        await result.ExecuteAsync(context).ConfigureAwait(false);
    }
}

/// <summary>
/// A streamed URL response: when the runtime's content type is <see cref="PreludeContentType"/> the body starts with a
/// JSON prelude <c>{"statusCode","headers","cookies"}</c> and 8 NUL bytes (HttpResponseStream.from), which give the
/// status (default 200), headers and Set-Cookie; otherwise 200 with the runtime's content type (application/octet-stream
/// unless the handler set one). The body follows piece by piece, each flushed. <c>extraHeaders</c> (CORS) override the
/// function's. A function error, timeout or unusable prelude before the response started answers 502 "Internal Server
/// Error" as a buffered URL does; after it, the response is ended where the stream stopped.
/// </summary>
public sealed class UrlStream(IReadOnlyDictionary<string, string> extraHeaders) : IStreamingResponse
{
    public const string PreludeContentType = "application/vnd.awslambda.http-integration-response";

    /// <summary>Largest prelude read before the delimiter (a prelude is headers and cookies: small).</summary>
    public const int MaxPreludeBytes = 64 * 1024;

    private const int DelimiterBytes = 8;

    public async Task<IResult> RespondAsync(StreamedInvocation call, HttpContext context)
    {
        var ct = context.RequestAborted;
        var response = context.Response;
        try
        {
            var contentType = await call.StartAsync(ct).ConfigureAwait(false);
            if (contentType is null)
            {
                return Buffered(await call.Result.ConfigureAwait(false), ct, call);
            }

            var withPrelude = contentType.StartsWith(PreludeContentType, StringComparison.OrdinalIgnoreCase);
            var prelude = withPrelude ? new ArrayBufferWriter<byte>() : null;
            var started = false;
            var badPrelude = false;

            async Task OnChunk(ReadOnlySequence<byte> chunk, CancellationToken token)
            {
                if (badPrelude)
                {
                    return;
                }

                if (!started && prelude is not null)
                {
                    foreach (var segment in chunk)
                    {
                        prelude.Write(segment.Span);
                    }

                    var at = Delimiter(prelude.WrittenSpan);
                    if (at < 0)
                    {
                        badPrelude = prelude.WrittenCount > MaxPreludeBytes;
                        return;
                    }

                    if (!TryApplyPrelude(response, prelude.WrittenSpan[..at]))
                    {
                        badPrelude = true;
                        return;
                    }

                    started = true;
                    ApplyExtraHeaders(response);
                    await response.StartAsync(token).ConfigureAwait(false);
                    var rest = prelude.WrittenMemory[(at + DelimiterBytes)..];
                    if (!rest.IsEmpty)
                    {
                        await response.Body.WriteAsync(rest, token).ConfigureAwait(false);
                    }

                    await response.Body.FlushAsync(token).ConfigureAwait(false);
                    return;
                }

                if (!started)
                {
                    StartPlain(response, contentType);
                    await response.StartAsync(token).ConfigureAwait(false);
                    started = true;
                }

                foreach (var segment in chunk)
                {
                    await response.Body.WriteAsync(segment, token).ConfigureAwait(false);
                }

                await response.Body.FlushAsync(token).ConfigureAwait(false);
            }

            await call.CopyAsync(OnChunk, ct).ConfigureAwait(false);
            var result = await call.Result.ConfigureAwait(false);
            if (started)
            {
                return Results.Empty;
            }

            if (result is null)
            {
                return ct.IsCancellationRequested ? Results.Empty : call.NotStarted();
            }

            if (result.Outcome != InvocationOutcome.Success || badPrelude || prelude is { WrittenCount: > 0 })
            {
                // Nothing sent yet: the function error (or a prelude that never ended) answers as a buffered URL would.
                return BadGateway();
            }

            // An empty stream: the status and content type alone.
            StartPlain(response, prelude is null ? contentType : "application/octet-stream");
            return Results.Empty;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return Results.Empty;
        }
    }

    /// <summary>The result came without a stream: its payload is the body (application/json), an error is a 502.</summary>
    private IResult Buffered(InvocationResult? result, CancellationToken ct, StreamedInvocation call)
    {
        if (result is null)
        {
            return ct.IsCancellationRequested ? Results.Empty : call.NotStarted();
        }

        if (result.Outcome != InvocationOutcome.Success)
        {
            return BadGateway();
        }

        return new BufferedBody(this, result.Payload);
    }

    private IResult BadGateway() => new BufferedBody(this, Encoding.UTF8.GetBytes("Internal Server Error"), 502, "text/plain; charset=utf-8");

    private void StartPlain(HttpResponse response, string contentType)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = contentType;
        ApplyExtraHeaders(response);
    }

    private void ApplyExtraHeaders(HttpResponse response)
    {
        foreach (var (name, value) in extraHeaders)
        {
            response.Headers[name] = value;
        }
    }

    /// <summary>Index of the 8-NUL delimiter, or -1.</summary>
    internal static int Delimiter(ReadOnlySpan<byte> data)
    {
        Span<byte> zeros = stackalloc byte[DelimiterBytes];
        zeros.Clear();
        return data.IndexOf(zeros);
    }

    /// <summary>Status, headers and cookies of the prelude; false when it is not a JSON object of that shape.</summary>
    internal static bool TryApplyPrelude(HttpResponse response, ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            var status = 200;
            if (root.TryGetProperty("statusCode", out var code))
            {
                if (code.ValueKind != JsonValueKind.Number || !code.TryGetInt32(out status) || status is < 100 or > 599)
                {
                    return false;
                }
            }

            response.StatusCode = status;
            if (root.TryGetProperty("headers", out var headers) && headers.ValueKind == JsonValueKind.Object)
            {
                foreach (var header in headers.EnumerateObject())
                {
                    response.Headers[header.Name] = header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString() : header.Value.GetRawText();
                }
            }

            if (root.TryGetProperty("cookies", out var cookies) && cookies.ValueKind == JsonValueKind.Array)
            {
                foreach (var cookie in cookies.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.String))
                {
                    response.Headers.Append("Set-Cookie", cookie.GetString());
                }
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private sealed class BufferedBody(UrlStream owner, byte[] body, int status = 200, string contentType = "application/json") : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = status;
            response.ContentType = contentType;
            owner.ApplyExtraHeaders(response);
            response.ContentLength = body.Length;
            await response.Body.WriteAsync(body, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
