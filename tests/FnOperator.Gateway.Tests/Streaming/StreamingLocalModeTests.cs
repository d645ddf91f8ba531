using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Local;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Streaming;

/// <summary>Local mode with real node functions (the project's bootstrap) and shims, driven by the real SDK and CLI.</summary>
public sealed class StreamingFunctionsFixture : IAsyncLifetime
{
    public const string Streamer = """
        const fs = require("node:fs");
        const until = async (file) => { while (!fs.existsSync(file)) await new Promise((r) => setTimeout(r, 20)); };
        exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
          responseStream.setContentType("text/plain");
          if (event.fail) {
            responseStream.write("partial;");
            await new Promise((r) => setTimeout(r, 10));
            throw Object.assign(new Error("stream broke: " + event.fail), { name: "StreamBroke" });
          }
          console.log("streaming " + context.awsRequestId);
          responseStream.write("chunk-1;");
          if (event.signal) await until(event.signal);
          responseStream.write("chunk-2;");
          await new Promise((r) => setTimeout(r, 10));
          responseStream.end("chunk-3;");
        });
        """;

    /// <summary>A RESPONSE_STREAM Function URL handler: HTTP status and headers through HttpResponseStream.from's prelude.</summary>
    public const string UrlStreamer = """
        const fs = require("node:fs");
        const until = async (file) => { while (!fs.existsSync(file)) await new Promise((r) => setTimeout(r, 20)); };
        exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
          const signal = event.queryStringParameters && event.queryStringParameters.signal;
          const http = awslambda.HttpResponseStream.from(responseStream, {
            statusCode: 201,
            headers: { "content-type": "text/plain", "x-streamed": "yes" },
            cookies: ["flavour=oat; Path=/"],
          });
          http.write("part-1;");
          if (signal) await until(signal);
          http.write("part-2;");
          http.end("part-3;");
        });
        """;

    public const string Buffered = """
        exports.handler = async (event) => ({ buffered: true, echo: event });
        """;

    private readonly TempManifests dir = new();
    private LocalModeProcess? local;

    public LocalModeProcess Local => local ?? throw new InvalidOperationException("not started");

    /// <summary>A folder the sandboxed runtime and the test both see, for the client's signal files.</summary>
    public string Signals { get; private set; } = "";

    public async Task InitializeAsync()
    {
        dir.NodeFunction("streamer", "streamer", "timeoutSeconds: 60", Streamer);
        dir.NodeFunction("buffered", "buffered", "", Buffered);
        dir.NodeFunction("urlstreamer", "urlstreamer", "timeoutSeconds: 60\nurl:\n  invokeMode: RESPONSE_STREAM\n  cors:\n    allowOrigins: [\"https://app.example\"]", UrlStreamer);
        Signals = dir.SharedWritableFolder("signals");
        local = await LocalModeProcess.StartAsync(dir.Root);
    }

    public async Task DisposeAsync()
    {
        if (local is not null)
        {
            await local.DisposeAsync();
        }

        dir.Dispose();
    }
}

public sealed class StreamingLocalModeTests(StreamingFunctionsFixture fixture) : IClassFixture<StreamingFunctionsFixture>
{
    private string Endpoint => fixture.Local.Endpoint;

    [Fact]
    public async Task Sdk_reads_the_first_chunk_while_the_handler_waits_to_write_the_second()
    {
        var signal = Path.Combine(fixture.Signals, Guid.NewGuid().ToString("N"));

        // The handler writes chunk-2 only after the SDK saw chunk-1 and wrote the signal file: had the gateway or the shim
        // buffered the response, the SDK would never see chunk-1 first and the handler would wait until its timeout.
        var result = await StreamSdk.InvokeAsync(Endpoint, new JsonObject
        {
            ["functionName"] = "streamer",
            ["payload"] = new JsonObject { ["signal"] = signal },
            ["signalFile"] = signal,
            ["logType"] = "Tail",
        });

        Assert.True((bool)result["ok"]!, result.ToJsonString());
        Assert.Equal(200, (int)result["statusCode"]!);
        Assert.Equal("$LATEST", (string?)result["executedVersion"]);
        Assert.Equal("text/plain", (string?)result["contentType"]);
        var events = result["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
        var chunks = events.Where(e => (string?)e["type"] == "PayloadChunk").ToList();
        Assert.True("chunk-1;chunk-2;chunk-3;" == string.Concat(chunks.Select(c => (string?)c["text"])), result.ToJsonString() + "\n" + fixture.Local.Output);
        Assert.Equal("chunk-1;", (string?)chunks[0]["text"]);
        Assert.False((bool)chunks[0]["signalledBefore"]!);
        Assert.True(File.Exists(signal));
        var complete = events[^1];
        Assert.Equal("InvokeComplete", (string?)complete["type"]);
        Assert.Null(complete["errorCode"]);
        var log = Encoding.UTF8.GetString(Convert.FromBase64String((string)complete["logResult"]!));
        Assert.Contains("streaming ", log, StringComparison.Ordinal);
        Assert.Contains("REPORT RequestId:", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Response_stream_url_sends_the_first_part_to_the_client_while_the_handler_waits_to_write_the_next()
    {
        var signal = Path.Combine(fixture.Signals, Guid.NewGuid().ToString("N"));
        using var client = new HttpClient { BaseAddress = new Uri(Endpoint), Timeout = TimeSpan.FromMinutes(2) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/url/default/urlstreamer/path?signal=" + Uri.EscapeDataString(signal));
        request.Headers.Add("Origin", "https://app.example");

        // The handler writes part-2 only once this client has read part-1 and created the signal file: a gateway or shim
        // that buffered the response would never deliver part-1 first, and the handler would wait until its timeout.
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var first = await ReadAtLeastAsync(body, "part-1;".Length);
        var signalledBefore = File.Exists(signal);
        await File.WriteAllTextAsync(signal, "seen");
        var rest = await new StreamReader(body).ReadToEndAsync();

        Assert.Equal(201, (int)response.StatusCode);
        Assert.Equal("part-1;", first);
        Assert.False(signalledBefore);
        Assert.Equal("part-2;part-3;", rest);
        Assert.Equal("yes", Assert.Single(response.Headers.GetValues("x-streamed")));
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("flavour=oat; Path=/", response.Headers.GetValues("Set-Cookie"));
        Assert.Equal("https://app.example", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
    }

    private static async Task<string> ReadAtLeastAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer);
        return Encoding.UTF8.GetString(buffer);
    }

    [Fact]
    public async Task A_handler_error_mid_stream_arrives_in_InvokeComplete_with_http_200()
    {
        var result = await StreamSdk.InvokeAsync(Endpoint, new JsonObject
        {
            ["functionName"] = "streamer",
            ["payload"] = new JsonObject { ["fail"] = "on purpose" },
        });

        Assert.True((bool)result["ok"]!, result.ToJsonString());
        Assert.Equal(200, (int)result["statusCode"]!);
        var events = result["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Equal("partial;", string.Concat(events.Where(e => (string?)e["type"] == "PayloadChunk").Select(c => (string?)c["text"])));
        var complete = events[^1];
        Assert.Equal("InvokeComplete", (string?)complete["type"]);
        Assert.Equal("StreamBroke", (string?)complete["errorCode"]);
        Assert.Equal("stream broke: on purpose", (string?)complete["errorDetails"]);
    }

    [Fact]
    public async Task A_buffered_function_answers_in_one_chunk()
    {
        var result = await StreamSdk.InvokeAsync(Endpoint, new JsonObject
        {
            ["functionName"] = "buffered",
            ["payload"] = new JsonObject { ["n"] = 7 },
        });

        Assert.True((bool)result["ok"]!, result.ToJsonString());
        var events = result["events"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Equal(["PayloadChunk", "InvokeComplete"], events.Select(e => (string?)e["type"]));
        Assert.Equal("""{"buffered":true,"echo":{"n":7}}""", (string?)events[0]["text"]);
    }

    [Fact]
    public async Task Sdk_errors_for_a_missing_function_and_an_event_invocation()
    {
        var missing = await StreamSdk.InvokeAsync(Endpoint, new JsonObject { ["functionName"] = "no-such-function" });
        var asEvent = await StreamSdk.InvokeAsync(Endpoint, new JsonObject { ["functionName"] = "streamer", ["invocationType"] = "Event" });

        Assert.False((bool)missing["ok"]!);
        Assert.Equal("ResourceNotFoundException", (string?)missing["errorName"]);
        Assert.Equal(404, (int)missing["httpStatus"]!);
        Assert.False((bool)asEvent["ok"]!);
        Assert.Equal(400, (int)asEvent["httpStatus"]!);
        Assert.Equal("InvalidParameterValueException", (string?)asEvent["errorName"]);
    }
}
