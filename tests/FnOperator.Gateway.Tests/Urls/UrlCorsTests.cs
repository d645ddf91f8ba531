using System.Net;
using FnOperator.Api;
using FnOperator.Gateway.Tests.Support;
using static FnOperator.Gateway.Tests.Urls.UrlTestSupport;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>CORS as Lambda's Function URLs do it: the gateway answers preflights and its headers replace the function's.</summary>
public sealed class UrlCorsTests
{
    private static FunctionUrlSpec Cors(bool credentials = false, params string[] origins) => new()
    {
        Cors = new FunctionUrlCors
        {
            AllowOrigins = [.. origins],
            AllowMethods = ["GET", "POST"],
            AllowHeaders = ["content-type", "x-api-key"],
            ExposeHeaders = ["x-answer"],
            MaxAge = 300,
            AllowCredentials = credentials,
        },
    };

    [Fact]
    public async Task Preflight_from_an_allowed_origin_is_answered_by_the_gateway_without_invoking_the_function()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("api", Spec(Cors(false, "https://app.example.com")));
        await using var worker = Worker(gateway, key, "{}");
        using var request = Request(gateway, HttpMethod.Options, "api", "/items");
        request.Headers.Add("Origin", "https://app.example.com");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("https://app.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("GET,POST", response.Headers.GetValues("Access-Control-Allow-Methods").Single());
        Assert.Equal("content-type,x-api-key", response.Headers.GetValues("Access-Control-Allow-Headers").Single());
        Assert.Equal("300", response.Headers.GetValues("Access-Control-Max-Age").Single());
        Assert.Equal("Origin", response.Headers.GetValues("Vary").Single());
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
        Assert.Empty(worker.Received);
    }

    [Fact]
    public async Task Preflight_from_another_origin_gets_no_cors_headers()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("api", Spec(Cors(false, "https://app.example.com")));
        await using var worker = Worker(gateway, key, "{}");
        using var request = Request(gateway, HttpMethod.Options, "api", "/");
        request.Headers.Add("Origin", "https://evil.example.net");
        request.Headers.Add("Access-Control-Request-Method", "GET");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
        Assert.Empty(worker.Received);
    }

    [Fact]
    public async Task Simple_request_gets_the_configured_cors_headers_which_replace_the_functions_own()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("api", Spec(Cors(true, "*")));
        await using var worker = Worker(gateway, key, """{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"https://wrong.example","x-answer":"42"},"body":"ok"}""");
        using var request = Request(gateway, HttpMethod.Get, "api", "/");
        request.Headers.Add("Origin", "https://app.example.com");
        using var noOrigin = Request(gateway, HttpMethod.Get, "api", "/");

        using var response = await gateway.Client.SendAsync(request);
        using var noOriginResponse = await gateway.Client.SendAsync(noOrigin);

        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        // With credentials allowed, "*" is answered with the caller's origin (browsers refuse "*" with credentials).
        Assert.Equal("https://app.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", response.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        Assert.Equal("x-answer", response.Headers.GetValues("Access-Control-Expose-Headers").Single());
        Assert.Equal("42", response.Headers.GetValues("x-answer").Single());
        Assert.False(noOriginResponse.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Wildcard_origin_without_credentials_answers_star_and_cors_headers_are_on_errors_too()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("api", Spec(Cors(false, "*")));
        await using var worker = new TestWorker(gateway.BaseAddress, key, i => TestWorker.Fail(i));
        using var request = Request(gateway, HttpMethod.Post, "api", "/");
        request.Headers.Add("Origin", "https://any.example");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task Without_cors_an_options_request_goes_to_the_function_and_its_headers_pass()
    {
        await using var gateway = await StartAsync();
        var key = gateway.Add("api", Spec());
        await using var worker = Worker(gateway, key, """{"statusCode":204,"headers":{"Access-Control-Allow-Origin":"https://mine.example"}}""");
        using var request = Request(gateway, HttpMethod.Options, "api", "/");
        request.Headers.Add("Origin", "https://mine.example");
        request.Headers.Add("Access-Control-Request-Method", "GET");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("https://mine.example", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("OPTIONS", (string?)LastEvent(worker)["requestContext"]!["http"]!["method"]);
    }
}
