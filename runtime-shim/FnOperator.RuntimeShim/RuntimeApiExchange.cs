using Microsoft.AspNetCore.Http.Features;

namespace FnOperator.RuntimeShim;

/// <summary>
/// One Runtime API request as the route handlers (<see cref="RuntimeApi"/>, <see cref="StreamingResponse"/>) see it,
/// whichever server carries it: Kestrel (<see cref="KestrelExchange"/>) or the shim's own HTTP/1.1 server
/// (<see cref="RuntimeApiServer"/>). The handlers are written once against this.
/// </summary>
public interface IRuntimeApiExchange
{
    /// <summary>The request's Content-Length; null for a chunked body (or none).</summary>
    long? ContentLength { get; }

    /// <summary>The request body (decoded from its chunked framing when chunked).</summary>
    Stream Body { get; }

    /// <summary>Cancelled when the runtime's connection is gone (or the server stops).</summary>
    CancellationToken Aborted { get; }

    /// <summary>A request header's value; null when absent.</summary>
    string? Header(string name);

    /// <summary>A trailer of a chunked body once the body was read to its end; null when absent (or not yet read).</summary>
    string? Trailer(string name);

    /// <summary>The handler may pause between body reads as long as it likes (a streamed response).</summary>
    void AllowSlowBody();

    /// <summary>Writes the whole response: status, the given headers, a JSON body (none when empty).</summary>
    Task RespondAsync(int status, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>>? headers = null);
}

/// <summary>A Kestrel request as a Runtime API exchange (FNOP_RUNTIME_API_SERVER=kestrel).</summary>
public sealed class KestrelExchange(HttpContext context) : IRuntimeApiExchange
{
    public long? ContentLength => context.Request.ContentLength;

    public Stream Body => context.Request.Body;

    public CancellationToken Aborted => context.RequestAborted;

    public string? Header(string name) =>
        context.Request.Headers.TryGetValue(name, out var value) ? value.ToString() : null;

    public string? Trailer(string name)
    {
        var trailers = context.Features.Get<IHttpRequestTrailersFeature>();
        return trailers is { Available: true } && trailers.Trailers.TryGetValue(name, out var value) ? value.ToString() : null;
    }

    public void AllowSlowBody()
    {
        // The handler may pause between writes for as long as its timeout allows (Kestrel would cut a slow body).
        if (context.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
    }

    public async Task RespondAsync(int status, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>>? headers = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                response.Headers[name] = value;
            }
        }

        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
