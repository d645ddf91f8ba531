using System.Net.Http.Headers;

namespace FnOperator.Contracts;

/// <summary>What the Invoke API answered: the status, <c>X-Amz-Function-Error</c>, <c>x-amzn-ErrorType</c> and the payload.</summary>
public sealed record InvokeOutcome(int StatusCode, string? FunctionError, string? ErrorType, byte[] Payload)
{
    /// <summary>The function ran and returned normally (200 sync, 202 async) without a function error.</summary>
    public bool Succeeded => StatusCode is 200 or 202 or 204 && FunctionError is null;

    /// <summary>The gateway refused for capacity (429) or was unavailable: retried without counting as a function error.</summary>
    public bool Throttled => StatusCode is 429 or 502 or 503 or 504 || StatusCode == 0;

    /// <summary>The function does not exist (404 ResourceNotFoundException).</summary>
    public bool NotFound => StatusCode == 404;

    /// <summary>The gateway refused the caller (401/403: no, an invalid or an unauthorized credential); not a function error.</summary>
    public bool Denied => StatusCode is 401 or 403;

    /// <summary>The gateway's error message (<c>message</c> / <c>Message</c> of the JSON body), for conditions and logs.</summary>
    public string? ErrorMessage
    {
        get
        {
            if (Succeeded || Payload.Length == 0)
            {
                return null;
            }

            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(Payload);
                return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                    && (doc.RootElement.TryGetProperty("Message", out var m) || doc.RootElement.TryGetProperty("message", out m)) && m.ValueKind == System.Text.Json.JsonValueKind.String
                    ? m.GetString()
                    : null;
            }
            catch (System.Text.Json.JsonException)
            {
                return null;
            }
        }
    }

    public static InvokeOutcome Unreachable(string message) => new(0, null, "ServiceUnavailable", System.Text.Encoding.UTF8.GetBytes(message));
}

/// <summary>Invokes functions: the seam event source pollers use (the gateway's Invoke API in production).</summary>
public interface IFunctionInvoker
{
    /// <param name="functionName">As the Invoke API takes it: <c>name</c> or <c>namespace/name</c>.</param>
    /// <param name="qualifier">A version or alias, or null for <c>$LATEST</c>.</param>
    /// <param name="asynchronous"><c>X-Amz-Invocation-Type: Event</c> instead of <c>RequestResponse</c>.</param>
    Task<InvokeOutcome> InvokeAsync(string functionName, string? qualifier, ReadOnlyMemory<byte> payload, bool asynchronous, CancellationToken cancellationToken);
}

/// <summary>
/// A small client of the gateway's Lambda Invoke API (<c>POST /2015-03-31/functions/{name}/invocations</c>), so that
/// invocations from event source mappings pass the gateway's concurrency limits and feed its autoscaler. With a
/// <paramref name="token"/> source every request carries <c>Authorization: Bearer &lt;token&gt;</c> (the operator's
/// ServiceAccount token, which the gateway verifies with a TokenReview and authorizes with a SubjectAccessReview); a
/// 401/403 answer makes the source re-read its token once (a rotated token), and the request is sent again. Without one
/// (local mode, whose gateway runs without invoke auth) no credentials are sent.
/// </summary>
public sealed class InvokeClient(HttpClient http, BearerTokenFile? token = null) : IFunctionInvoker
{
    public const string InvocationTypeHeader = "X-Amz-Invocation-Type";
    public const string FunctionErrorHeader = "X-Amz-Function-Error";
    public const string ErrorTypeHeader = "x-amzn-ErrorType";

    public async Task<InvokeOutcome> InvokeAsync(string functionName, string? qualifier, ReadOnlyMemory<byte> payload, bool asynchronous, CancellationToken cancellationToken)
    {
        var path = InvokeApi.InvokePath(functionName);
        if (!string.IsNullOrEmpty(qualifier))
        {
            path += "?Qualifier=" + Uri.EscapeDataString(qualifier);
        }

        var outcome = await SendAsync(path, payload, asynchronous, refreshToken: false, cancellationToken).ConfigureAwait(false);
        if (outcome.Denied && token is not null)
        {
            outcome = await SendAsync(path, payload, asynchronous, refreshToken: true, cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    private async Task<InvokeOutcome> SendAsync(string path, ReadOnlyMemory<byte> payload, bool asynchronous, bool refreshToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ReadOnlyMemoryContent(payload) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(InvocationTypeHeader, asynchronous ? "Event" : "RequestResponse");
        try
        {
            if (token is not null && await token.GetAsync(refreshToken, cancellationToken).ConfigureAwait(false) is { Length: > 0 } bearer)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }
        }
        catch (IOException e)
        {
            return new InvokeOutcome(401, null, "MissingAuthenticationTokenException", System.Text.Encoding.UTF8.GetBytes(
                System.Text.Json.JsonSerializer.Serialize(new { message = $"cannot read the invoke token file {token!.Path}: {e.Message}" })));
        }

        try
        {
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return new InvokeOutcome((int)response.StatusCode, Header(response, FunctionErrorHeader), Header(response, ErrorTypeHeader), body);
        }
        catch (HttpRequestException e)
        {
            return InvokeOutcome.Unreachable(e.Message);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            return InvokeOutcome.Unreachable("timed out: " + e.Message);
        }
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}

