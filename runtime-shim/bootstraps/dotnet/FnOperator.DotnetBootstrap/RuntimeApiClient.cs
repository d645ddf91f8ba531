using System.Net.Http.Headers;

namespace FnOperator.DotnetBootstrap;

/// <summary>One invocation as `GET /runtime/invocation/next` hands it out.</summary>
public sealed class NextInvocation(HttpResponseMessage response, byte[] body) : IDisposable
{
    public byte[] Body { get; } = body;

    public string RequestId { get; } = Header(response, "Lambda-Runtime-Aws-Request-Id") ?? "";

    public long DeadlineMs { get; } = long.TryParse(Header(response, "Lambda-Runtime-Deadline-Ms"), out var ms) ? ms : 0;

    public string InvokedFunctionArn { get; } = Header(response, "Lambda-Runtime-Invoked-Function-Arn") ?? "";

    public string? TraceId { get; } = Header(response, "Lambda-Runtime-Trace-Id");

    public string? ClientContext { get; } = Header(response, "Lambda-Runtime-Client-Context");

    public string? CognitoIdentity { get; } = Header(response, "Lambda-Runtime-Cognito-Identity");

    public void Dispose() => response.Dispose();

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}

/// <summary>The Lambda Runtime API 2018-06-01 at AWS_LAMBDA_RUNTIME_API.</summary>
public sealed class RuntimeApiClient(string address) : IDisposable
{
    private readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = new Uri($"http://{address}/2018-06-01/runtime/"),
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task<NextInvocation> NextAsync()
    {
        var response = await http.GetAsync("invocation/next").ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            response.Dispose();
            throw new HttpRequestException($"The Runtime API answered {(int)response.StatusCode} to next.");
        }

        var body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        return new NextInvocation(response, body);
    }

    public Task PostResponseAsync(string requestId, byte[] body) =>
        PostAsync($"invocation/{requestId}/response", body, "application/json", null);

    public Task PostErrorAsync(string requestId, ErrorDocument error) =>
        PostAsync($"invocation/{requestId}/error", error.ToJson(), "application/json", error.ErrorType);

    public Task PostInitErrorAsync(ErrorDocument error) => PostAsync("init/error", error.ToJson(), "application/json", error.ErrorType);

    public void Dispose() => http.Dispose();

    private async Task PostAsync(string path, byte[] body, string contentType, string? errorType)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (errorType is not null)
        {
            request.Headers.TryAddWithoutValidation("Lambda-Runtime-Function-Error-Type", errorType);
        }

        using var response = await http.SendAsync(request).ConfigureAwait(false);
    }
}
