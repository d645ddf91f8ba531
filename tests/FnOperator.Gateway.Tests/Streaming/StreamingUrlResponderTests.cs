using System.Net;
using System.Text;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Streaming;
using FnOperator.Gateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace FnOperator.Gateway.Tests.Streaming;

/// <summary>
/// The streaming URL responder in a gateway host (the Function URL endpoint is stood in for by a test route that hands a
/// built invocation and CORS headers to <see cref="IStreamingUrlResponder"/>), fed by a step-by-step streaming worker.
/// </summary>
public sealed class StreamingUrlResponderTests
{
    private static Task<UrlHost> StartAsync() => UrlHost.StartAsync();

    private static byte[] Prelude(string json) => [.. Encoding.UTF8.GetBytes(json), .. new byte[8]];

    [Fact]
    public async Task The_prelude_sets_status_headers_and_cookies_and_the_body_streams_piece_by_piece()
    {
        await using var host = await StartAsync();
        var key = host.Add("url-prelude");
        using var worker = new StreamingWorker(host.BaseAddress, key);

        var call = host.Client.GetAsync("/test-url/url-prelude", HttpCompletionOption.ResponseHeadersRead);
        var invocation = await worker.NextAsync();
        var stream = worker.Stream(invocation, UrlStream.PreludeContentType);
        await stream.WriteAsync(Prelude("""{"statusCode":201,"headers":{"content-type":"text/html","x-custom":"from-function"},"cookies":["a=1; Path=/","b=2"]}"""));
        await stream.WriteAsync("<p>first</p>");
        using var response = await call.WaitAsync(TimeSpan.FromSeconds(60));
        var body = await response.Content.ReadAsStreamAsync();
        var first = await ReadAtLeastAsync(body, "<p>first</p>".Length);

        // The second piece is written only now: the client read the first while the stream was open.
        Assert.Equal("<p>first</p>", first);
        await stream.WriteAsync("<p>second</p>");
        Assert.Equal("<p>second</p>", await ReadAtLeastAsync(body, "<p>second</p>".Length));
        await stream.EndAsync();
        await worker.CompleteAsync(invocation, StreamingWorker.Streamed(invocation));
        Assert.Equal("", await new StreamReader(body).ReadToEndAsync());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("from-cors", response.Headers.GetValues("x-custom").Single());
        Assert.Equal("https://example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal(["a=1; Path=/", "b=2"], response.Headers.GetValues("Set-Cookie"));
    }

    [Fact]
    public async Task Without_a_prelude_the_answer_is_200_with_the_runtimes_content_type()
    {
        await using var host = await StartAsync();
        var key = host.Add("url-plain");
        using var worker = new StreamingWorker(host.BaseAddress, key);

        var call = host.Client.GetAsync("/test-url/url-plain");
        var invocation = await worker.NextAsync();
        var stream = worker.Stream(invocation, "text/event-stream");
        await stream.WriteAsync("data: 1\n\n");
        await stream.WriteAsync("data: 2\n\n");
        await stream.EndAsync();
        await worker.CompleteAsync(invocation, StreamingWorker.Streamed(invocation));
        using var response = await call.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("data: 1\n\ndata: 2\n\n", await response.Content.ReadAsStringAsync());
        Assert.Equal("https://example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task An_error_before_the_first_byte_answers_502_as_a_buffered_url()
    {
        await using var host = await StartAsync();
        var key = host.Add("url-fails-early");
        using var worker = new StreamingWorker(host.BaseAddress, key);

        var call = host.Client.GetAsync("/test-url/url-fails-early");
        var invocation = await worker.NextAsync();
        var stream = worker.Stream(invocation, UrlStream.PreludeContentType);
        await stream.WriteAsync(Encoding.UTF8.GetBytes("""{"statusCode":200"""));
        await stream.CutAsync();
        await worker.CompleteAsync(invocation, TestWorker.Fail(invocation, "boom early"));
        using var response = await call.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("Internal Server Error", await response.Content.ReadAsStringAsync());
        Assert.Equal("https://example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task An_error_after_the_first_byte_ends_the_response_where_the_stream_stopped()
    {
        await using var host = await StartAsync();
        var key = host.Add("url-fails-late");
        using var worker = new StreamingWorker(host.BaseAddress, key);

        var call = host.Client.GetAsync("/test-url/url-fails-late", HttpCompletionOption.ResponseHeadersRead);
        var invocation = await worker.NextAsync();
        var stream = worker.Stream(invocation, "text/plain");
        await stream.WriteAsync("partial");
        using var response = await call.WaitAsync(TimeSpan.FromSeconds(60));
        var body = await response.Content.ReadAsStreamAsync();
        Assert.Equal("partial", await ReadAtLeastAsync(body, "partial".Length));
        await stream.CutAsync();
        await worker.CompleteAsync(invocation, TestWorker.Fail(invocation, "boom late"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", await new StreamReader(body).ReadToEndAsync());
    }

    [Fact]
    public async Task A_buffered_answer_is_the_body_and_a_buffered_error_is_502()
    {
        await using var host = await StartAsync();
        var ok = host.Add("url-buffered");
        var failing = host.Add("url-buffered-fails");
        await using var okWorker = new TestWorker(host.BaseAddress, ok, inv => TestWorker.Ok(inv, """{"whole":true}"""));
        await using var failingWorker = new TestWorker(host.BaseAddress, failing, inv => TestWorker.Fail(inv));

        using var answered = await host.Client.GetAsync("/test-url/url-buffered");
        using var failed = await host.Client.GetAsync("/test-url/url-buffered-fails");

        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("""{"whole":true}""", await answered.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
    }

    private static async Task<string> ReadAtLeastAsync(Stream body, int bytes)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var buffer = new byte[bytes];
        await body.ReadExactlyAsync(buffer, timeout.Token);
        return Encoding.UTF8.GetString(buffer);
    }
}

/// <summary>A gateway host with a test route standing in for the Function URL endpoint.</summary>
public sealed class UrlHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private UrlHost(WebApplication app)
    {
        this.app = app;
        BaseAddress = GatewayApp.Addresses(app)[0];
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public HttpClient Client { get; }

    public Uri BaseAddress { get; }

    public static async Task<UrlHost> StartAsync()
    {
        var app = GatewayApp.Build(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey }, b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        app.MapGet("/test-url/{name}", async (string name, HttpContext context, IStreamingUrlResponder responder, FunctionRegistry functions) =>
        {
            Assert.True(functions.TryResolve(name, null, out var fn));
            var invocation = new Invocation
            {
                RequestId = Guid.NewGuid().ToString(),
                Namespace = fn.Key.Namespace,
                FunctionName = fn.Key.Name,
                Version = fn.Version,
                InvokedFunctionArn = fn.InvokedFunctionArn,
                Type = InvocationType.RequestResponse,
                Payload = Encoding.UTF8.GetBytes("""{"version":"2.0","rawPath":"/"}"""),
                AcceptedAt = DateTimeOffset.UtcNow,
            };
            var cors = new Dictionary<string, string> { ["Access-Control-Allow-Origin"] = "https://example.com", ["x-custom"] = "from-cors" };
            await responder.RespondAsync(context, invocation, cors, context.RequestAborted);
        });
        await app.StartAsync();
        return new UrlHost(app);
    }

    public FunctionKey Add(string name)
    {
        var key = new FunctionKey(FunctionKey.DefaultNamespace, name);
        app.Services.GetRequiredService<FunctionRegistry>().Upsert(key, new FnOperator.Api.FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3 });
        return key;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
