using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>A gateway serving Function URLs on *.localhost, with helpers to address a function's URL by Host header.</summary>
internal static class UrlTestSupport
{
    public const string Domain = "localhost";

    public static GatewayOptions Options => TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, UrlDomain = Domain };

    public static Task<TestGateway> StartAsync(GatewayOptions? options = null) => TestGateway.StartAsync(options ?? Options);

    public static FunctionSpec Spec(FunctionUrlSpec? url = null, int timeoutSeconds = 3, int? reserved = null) => new()
    {
        Runtime = "nodejs22.x",
        Handler = "index.handler",
        TimeoutSeconds = timeoutSeconds,
        Url = url ?? new FunctionUrlSpec(),
        Concurrency = reserved is null ? null : new ConcurrencySpec { Reserved = reserved },
    };

    /// <summary>A request to http://{function}.{namespace}.localhost:{port}{pathAndQuery} (sent to 127.0.0.1 with that Host).</summary>
    public static HttpRequestMessage Request(TestGateway gateway, HttpMethod method, string function, string pathAndQuery = "/", string ns = FunctionKey.DefaultNamespace, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, new Uri(gateway.BaseAddress, pathAndQuery)) { Content = content };
        request.Headers.Host = $"{function}.{ns}.{Domain}:{gateway.BaseAddress.Port}";
        return request;
    }

    /// <summary>Answers every invocation with <paramref name="response"/> (a JSON text) and keeps the events it got.</summary>
    public static TestWorker Worker(TestGateway gateway, FunctionKey key, string response) =>
        new(gateway.BaseAddress, key, invocation => TestWorker.Ok(invocation, response));

    public static JsonObject LastEvent(TestWorker worker) =>
        JsonNode.Parse(worker.Received.Last().Payload)!.AsObject();

    public static InvocationResult Result(Invocation invocation, byte[] payload) => TestWorker.Ok(invocation, "") with { Payload = payload };
}
