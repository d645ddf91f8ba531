using System.Collections.Concurrent;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>One request an operator replica sent to the API server.</summary>
public sealed record SentRequest(string Replica, string Method, string Path);

/// <summary>The requests operator replicas sent, for tests that assert what went over the wire (which endpoints, who wrote).</summary>
public sealed class RequestLog
{
    private readonly ConcurrentQueue<SentRequest> requests = new();

    public IReadOnlyList<SentRequest> All => [.. requests];

    public void Add(SentRequest request) => requests.Enqueue(request);

    /// <summary>Writes (POST, PUT, PATCH, DELETE) to paths containing <paramref name="fragment"/>.</summary>
    public IReadOnlyList<SentRequest> Writes(string fragment) =>
        [.. requests.Where(r => r.Method != "GET" && r.Path.Contains(fragment, StringComparison.Ordinal))];
}

/// <summary>Records each request's method and path into a <see cref="RequestLog"/> and passes it on.</summary>
public sealed class RecordingHandler(string replica, RequestLog log) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        log.Add(new SentRequest(replica, request.Method.Method, request.RequestUri?.AbsolutePath ?? ""));
        return base.SendAsync(request, cancellationToken);
    }
}
