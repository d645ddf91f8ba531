using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Tests.Support;
using static FnOperator.Gateway.Tests.Urls.UrlTestSupport;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>The event a Function URL request becomes, field by field, in each payload format (docs/function-urls.md "Events").</summary>
public sealed class UrlEventTests
{
    [Fact]
    public async Task Get_with_repeated_query_keys_cookies_and_headers_arrives_as_payload_2_0_event()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("echo", Spec());
        await using var worker = Worker(gateway, key, "{}");
        var before = DateTimeOffset.UtcNow;

        // A raw request: HttpClient would fold the repeated X-Custom lines into one.
        var response = await RawHttp.SendAsync(gateway.BaseAddress.Port,
            "GET /my/path?parameter1=value1&parameter1=value2&parameter2=a%20b HTTP/1.1\r\n" +
            $"Host: echo.default.localhost:{gateway.BaseAddress.Port}\r\n" +
            "Cookie: cookie1=one; cookie2=two\r\nX-Custom: a\r\nX-Custom: b\r\nUser-Agent: agent/1.0\r\nConnection: close\r\n\r\n");
        var ev = LastEvent(worker);

        Assert.Equal(200, response.Status);
        Assert.Equal("2.0", (string?)ev["version"]);
        Assert.Equal("$default", (string?)ev["routeKey"]);
        Assert.Equal("/my/path", (string?)ev["rawPath"]);
        Assert.Equal("parameter1=value1&parameter1=value2&parameter2=a%20b", (string?)ev["rawQueryString"]);
        Assert.Equal(["cookie1=one", "cookie2=two"], ev["cookies"]!.AsArray().Select(c => (string)c!));
        var headers = ev["headers"]!.AsObject();
        Assert.Equal("a,b", (string?)headers["x-custom"]);
        Assert.Equal("agent/1.0", (string?)headers["user-agent"]);
        Assert.Equal($"echo.default.localhost:{gateway.BaseAddress.Port}", (string?)headers["host"]);
        Assert.Null(headers["cookie"]);
        Assert.Equal("127.0.0.1", (string?)headers["x-forwarded-for"]);
        Assert.Equal("http", (string?)headers["x-forwarded-proto"]);
        Assert.Equal(gateway.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)headers["x-forwarded-port"]);
        Assert.StartsWith("Root=1-", (string?)headers["x-amzn-trace-id"], StringComparison.Ordinal);
        Assert.All(headers, h => Assert.Equal(h.Key.ToLowerInvariant(), h.Key));
        var query = ev["queryStringParameters"]!.AsObject();
        Assert.Equal("value1,value2", (string?)query["parameter1"]);
        Assert.Equal("a b", (string?)query["parameter2"]);
        var ctx = ev["requestContext"]!.AsObject();
        Assert.Equal("anonymous", (string?)ctx["accountId"]);
        Assert.Equal("echo", (string?)ctx["apiId"]);
        Assert.Null(ctx["authorizer"]);
        Assert.Equal("echo.default.localhost", (string?)ctx["domainName"]);
        Assert.Equal("echo", (string?)ctx["domainPrefix"]);
        var http = ctx["http"]!.AsObject();
        Assert.Equal("GET", (string?)http["method"]);
        Assert.Equal("/my/path", (string?)http["path"]);
        Assert.Equal("HTTP/1.1", (string?)http["protocol"]);
        Assert.Equal("127.0.0.1", (string?)http["sourceIp"]);
        Assert.Equal("agent/1.0", (string?)http["userAgent"]);
        Assert.Equal(worker.Received.Last().RequestId, (string?)ctx["requestId"]);
        Assert.Equal(response.Headers["x-amzn-requestid"], (string?)ctx["requestId"]);
        Assert.Equal("$default", (string?)ctx["routeKey"]);
        Assert.Equal("$default", (string?)ctx["stage"]);
        var epoch = (long)ctx["timeEpoch"]!;
        Assert.InRange(epoch, before.ToUnixTimeMilliseconds() - 1000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000);
        Assert.Matches(@"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$", (string?)ctx["time"]);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(epoch).ToString("dd/MMM/yyyy:HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " +0000", (string?)ctx["time"]);
        Assert.False(ev.ContainsKey("body"));
        Assert.False((bool)ev["isBase64Encoded"]!);
    }

    [Fact]
    public async Task Post_with_a_json_body_arrives_as_text_and_a_binary_body_arrives_base64_encoded()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("echo", Spec());
        await using var worker = Worker(gateway, key, "{}");
        var binary = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF, 0xFE, 0x01 };

        using var json = Request(gateway, HttpMethod.Post, "echo", "/items", content: new StringContent("""{"name":"Ada","emoji":"✓"}""", Encoding.UTF8, "application/json"));
        using var jsonResponse = await gateway.Client.SendAsync(json);
        var jsonEvent = LastEvent(worker);
        var image = new ByteArrayContent(binary);
        image.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var png = Request(gateway, HttpMethod.Put, "echo", "/upload", content: image);
        using var pngResponse = await gateway.Client.SendAsync(png);
        var pngEvent = LastEvent(worker);

        Assert.Equal(HttpStatusCode.OK, jsonResponse.StatusCode);
        Assert.Equal("POST", (string?)jsonEvent["requestContext"]!["http"]!["method"]);
        Assert.Equal("""{"name":"Ada","emoji":"✓"}""", (string?)jsonEvent["body"]);
        Assert.False((bool)jsonEvent["isBase64Encoded"]!);
        Assert.Equal("application/json; charset=utf-8", (string?)jsonEvent["headers"]!["content-type"]);
        Assert.Equal(HttpStatusCode.OK, pngResponse.StatusCode);
        Assert.Equal("PUT", (string?)pngEvent["requestContext"]!["http"]!["method"]);
        Assert.True((bool)pngEvent["isBase64Encoded"]!);
        Assert.Equal(binary, Convert.FromBase64String((string)pngEvent["body"]!));
    }

    [Fact]
    public async Task Path_based_url_gives_the_function_the_path_after_its_name_and_works_on_any_host()
    {
        await using var gateway = await StartAsync(Options with { UrlDomain = null });
        var key = gateway.Add("echo", Spec(), ns: "team");
        await using var worker = Worker(gateway, key, "{}");

        using var deep = await gateway.Client.GetAsync("/url/team/echo/a/b%2Fc?x=1");
        var deepEvent = LastEvent(worker);
        using var root = await gateway.Client.GetAsync("/url/team/echo");
        var rootEvent = LastEvent(worker);
        using var hostBased = Request(gateway, HttpMethod.Get, "echo", "/", ns: "team");
        using var hostResponse = await gateway.Client.SendAsync(hostBased);

        Assert.Equal(HttpStatusCode.OK, deep.StatusCode);
        Assert.Equal("/a/b%2Fc", (string?)deepEvent["rawPath"]);
        Assert.Equal("x=1", (string?)deepEvent["rawQueryString"]);
        Assert.Equal("/", (string?)rootEvent["rawPath"]);
        Assert.Equal("", (string?)rootEvent["rawQueryString"]);
        Assert.Null(rootEvent["queryStringParameters"]);
        // Without a URL domain a *.localhost host is just another host: not a URL.
        Assert.Equal(HttpStatusCode.NotFound, hostResponse.StatusCode);
    }

    [Fact]
    public async Task Payload_1_0_event_has_the_api_gateway_rest_proxy_shape()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("rest", Spec(new FunctionUrlSpec { PayloadFormat = FunctionUrls.Format10 }));
        await using var worker = Worker(gateway, key, """{"statusCode":204}""");
        var response = await RawHttp.SendAsync(gateway.BaseAddress.Port,
            "POST /orders/42?tag=a&tag=b&one=1 HTTP/1.1\r\n" +
            $"Host: rest.default.localhost:{gateway.BaseAddress.Port}\r\n" +
            "X-Multi: x\r\nX-Multi: y\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        var ev = LastEvent(worker);

        Assert.Equal(204, response.Status);
        Assert.Equal("1.0", (string?)ev["version"]);
        Assert.Equal("/{proxy+}", (string?)ev["resource"]);
        Assert.Equal("/orders/42", (string?)ev["path"]);
        Assert.Equal("POST", (string?)ev["httpMethod"]);
        Assert.Equal("y", (string?)ev["headers"]!["X-Multi"]);
        Assert.Equal(["x", "y"], ev["multiValueHeaders"]!["X-Multi"]!.AsArray().Select(v => (string)v!));
        Assert.Equal("b", (string?)ev["queryStringParameters"]!["tag"]);
        Assert.Equal("1", (string?)ev["queryStringParameters"]!["one"]);
        Assert.Equal(["a", "b"], ev["multiValueQueryStringParameters"]!["tag"]!.AsArray().Select(v => (string)v!));
        Assert.Equal("orders/42", (string?)ev["pathParameters"]!["proxy"]);
        Assert.True(ev.ContainsKey("stageVariables"));
        Assert.Null(ev["stageVariables"]);
        Assert.Equal("hello", (string?)ev["body"]);
        Assert.False((bool)ev["isBase64Encoded"]!);
        var ctx = ev["requestContext"]!.AsObject();
        Assert.Equal("POST", (string?)ctx["httpMethod"]);
        Assert.Equal("/orders/42", (string?)ctx["path"]);
        Assert.Equal("/{proxy+}", (string?)ctx["resourcePath"]);
        Assert.Equal("$default", (string?)ctx["stage"]);
        Assert.Equal("127.0.0.1", (string?)ctx["identity"]!["sourceIp"]);
        Assert.Equal(worker.Received.Last().RequestId, (string?)ctx["requestId"]);
        Assert.Matches(@"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$", (string?)ctx["requestTime"]);
        Assert.True((long)ctx["requestTimeEpoch"]! > 0);
    }

    [Fact]
    public async Task Alb_event_has_the_target_group_shape_with_last_values_and_undecoded_query()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("alb", Spec(new FunctionUrlSpec { PayloadFormat = FunctionUrls.FormatAlb }));
        await using var worker = Worker(gateway, key, """{"statusCode":200,"statusDescription":"200 OK","body":"ok"}""");
        using var request = Request(gateway, HttpMethod.Get, "alb", "/health?myKey=%3FshowAll%3Dtrue&k=1&k=2");

        using var response = await gateway.Client.SendAsync(request);
        var ev = LastEvent(worker);

        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        Assert.Equal("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/alb/fnoperator", (string?)ev["requestContext"]!["elb"]!["targetGroupArn"]);
        Assert.Equal("GET", (string?)ev["httpMethod"]);
        Assert.Equal("/health", (string?)ev["path"]);
        Assert.Equal("%3FshowAll%3Dtrue", (string?)ev["queryStringParameters"]!["myKey"]);
        Assert.Equal("2", (string?)ev["queryStringParameters"]!["k"]);
        Assert.Equal($"alb.default.localhost:{gateway.BaseAddress.Port}", (string?)ev["headers"]!["host"]);
        Assert.Equal("", (string?)ev["body"]);
        Assert.False((bool)ev["isBase64Encoded"]!);
        Assert.False(ev.ContainsKey("version"));
    }

    [Fact]
    public async Task Request_bodies_up_to_6_MB_are_delivered_and_larger_ones_get_413()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("echo", Spec());
        await using var worker = Worker(gateway, key, "{}");
        var near = new string('a', (6 * 1024 * 1024) - (64 * 1024));

        using var nearRequest = Request(gateway, HttpMethod.Post, "echo", "/", content: new StringContent(near, Encoding.UTF8, "text/plain"));
        using var nearResponse = await gateway.Client.SendAsync(nearRequest);
        var nearEvent = LastEvent(worker);
        using var over = Request(gateway, HttpMethod.Post, "echo", "/", content: new ByteArrayContent(new byte[(6 * 1024 * 1024) + 1]));
        using var overResponse = await gateway.Client.SendAsync(over);
        // A binary body under 6 MB whose base64 event is over it is refused too: the limit is on the event.
        using var grown = Request(gateway, HttpMethod.Post, "echo", "/", content: new ByteArrayContent(new byte[5 * 1024 * 1024]));
        using var grownResponse = await gateway.Client.SendAsync(grown);

        Assert.Equal(HttpStatusCode.OK, nearResponse.StatusCode);
        Assert.Equal(near.Length, ((string)nearEvent["body"]!).Length);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, overResponse.StatusCode);
        Assert.Equal("RequestTooLargeException", overResponse.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, grownResponse.StatusCode);
        Assert.Single(worker.Received);
    }
}
