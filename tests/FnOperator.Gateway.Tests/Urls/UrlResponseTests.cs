using System.Net;
using System.Text;
using FnOperator.Api;
using FnOperator.Gateway.Tests.Support;
using static FnOperator.Gateway.Tests.Urls.UrlTestSupport;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>How a function's result becomes the HTTP response (docs/function-urls.md "Responses" and "Errors").</summary>
public sealed class UrlResponseTests
{
    private static async Task<HttpResponseMessage> GetAsync(string functionResult, string format = FunctionUrls.Format20)
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("fn", Spec(new FunctionUrlSpec { PayloadFormat = format }));
        await using var worker = Worker(gateway, key, functionResult);
        using var request = Request(gateway, HttpMethod.Get, "fn", "/");
        var response = await gateway.Client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    [Fact]
    public async Task Structured_response_sets_status_headers_cookies_and_body()
    {
        using var response = await GetAsync("""
            {"statusCode":201,"headers":{"Content-Type":"text/plain","X-Answer":"42","X-Number":7},
             "cookies":["a=1; Max-Age=78000","b=2"],"body":"created","isBase64Encoded":false}
            """);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.ToString());
        Assert.Equal("42", response.Headers.GetValues("X-Answer").Single());
        Assert.Equal("7", response.Headers.GetValues("X-Number").Single());
        Assert.Equal(["a=1; Max-Age=78000", "b=2"], response.Headers.GetValues("Set-Cookie"));
        Assert.Equal("created", await response.Content.ReadAsStringAsync());
        Assert.Equal(7, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Json_object_without_status_code_is_a_200_application_json_response_of_that_json()
    {
        using var response = await GetAsync("""{"message":"hi","n":[1,2]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("""{"message":"hi","n":[1,2]}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task String_return_is_sent_as_json_text_with_its_quotes()
    {
        using var response = await GetAsync("\"Hello, world!\"");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("\"Hello, world!\"", await response.Content.ReadAsStringAsync());
        Assert.Equal(15, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Base64_encoded_structured_body_is_decoded_to_the_bytes()
    {
        var bytes = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF };
        using var response = await GetAsync($$"""{"statusCode":200,"headers":{"content-type":"image/png"},"body":"{{Convert.ToBase64String(bytes)}}","isBase64Encoded":true}""");

        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Payload_1_0_merges_multi_value_headers_and_refuses_a_response_without_status_code()
    {
        using var merged = await GetAsync("""{"statusCode":200,"headers":{"X-One":"1","X-Both":"single"},"multiValueHeaders":{"X-Both":["m1","m2"]},"body":"x"}""", FunctionUrls.Format10);
        using var malformed = await GetAsync("""{"message":"no status"}""", FunctionUrls.Format10);

        Assert.Equal("1", merged.Headers.GetValues("X-One").Single());
        Assert.Equal(["m1", "m2"], merged.Headers.GetValues("X-Both"));
        Assert.Equal(HttpStatusCode.BadGateway, malformed.StatusCode);
        Assert.Equal("Internal Server Error", await malformed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Function_error_answers_502_internal_server_error()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("fails", Spec());
        await using var worker = new TestWorker(gateway.BaseAddress, key, i => TestWorker.Fail(i, "boom"));
        using var request = Request(gateway, HttpMethod.Get, "fails", "/");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("Internal Server Error", await response.Content.ReadAsStringAsync());
        Assert.False(response.Headers.Contains("X-Amz-Function-Error"));
    }

    [Fact]
    public async Task Timeout_answers_502_internal_server_error()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("slow", Spec(timeoutSeconds: 1));
        // The shim's answer when the runtime ran out of time (runtime-shim InvocationRunner).
        await using var worker = new TestWorker(gateway.BaseAddress, key, i => TestWorker.Fail(i, $"RequestId: {i.RequestId} Error: Task timed out after 1.00 seconds", "Sandbox.Timedout"));
        using var request = Request(gateway, HttpMethod.Get, "slow", "/");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("Internal Server Error", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Response_over_6_MB_answers_502_and_one_just_under_is_delivered()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("big", Spec());
        var under = "\"" + new string('x', (6 * 1024 * 1024) - 16) + "\"";
        var over = "\"" + new string('x', 6 * 1024 * 1024) + "\"";
        await using var worker = new TestWorker(gateway.BaseAddress, key, i => TestWorker.Ok(i, Encoding.UTF8.GetString(i.Payload).Contains("\"rawPath\":\"/over\"", StringComparison.Ordinal) ? over : under));

        using var underRequest = Request(gateway, HttpMethod.Get, "big", "/under");
        using var underResponse = await gateway.Client.SendAsync(underRequest);
        using var overRequest = Request(gateway, HttpMethod.Get, "big", "/over");
        using var overResponse = await gateway.Client.SendAsync(overRequest);

        Assert.Equal(HttpStatusCode.OK, underResponse.StatusCode);
        Assert.Equal(under.Length, (await underResponse.Content.ReadAsByteArrayAsync()).Length);
        Assert.Equal(HttpStatusCode.BadGateway, overResponse.StatusCode);
    }

    [Fact]
    public async Task Reserved_concurrency_zero_throttles_every_request_with_429()
    {
        await using var gateway = await StartAsync();
        gateway.Add("off", Spec(reserved: 0));
        using var request = Request(gateway, HttpMethod.Get, "off", "/");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("TooManyRequestsException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Contains("\"Reason\":\"ReservedFunctionConcurrentInvocationLimitExceeded\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_function_without_spec_url_or_an_unknown_one_has_no_url_in_serve_mode()
    {
        await using var gateway = await StartAsync();
        gateway.Add("plain", new FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler" });
        using var plain = Request(gateway, HttpMethod.Get, "plain", "/");
        using var unknown = Request(gateway, HttpMethod.Get, "nobody", "/");

        using var plainResponse = await gateway.Client.SendAsync(plain);
        using var unknownResponse = await gateway.Client.SendAsync(unknown);

        Assert.Equal(HttpStatusCode.Forbidden, plainResponse.StatusCode);
        Assert.Equal("AccessDeniedException", plainResponse.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Contains("has no spec.url", await plainResponse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, unknownResponse.StatusCode);
    }
}
