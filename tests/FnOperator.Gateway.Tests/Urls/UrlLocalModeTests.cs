using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>Function URLs in local mode with real node runtimes, real handlers (Express + serverless-http), curl and chromium.</summary>
public sealed class UrlLocalModeTests(UrlLocalModeFixture fixture) : IClassFixture<UrlLocalModeFixture>
{
    [Theory]
    [InlineData("express20")]
    [InlineData("express10")]
    public async Task Express_app_wrapped_by_serverless_http_runs_unmodified_behind_the_url(string function)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };

        using var get = await client.SendAsync(fixture.Request(HttpMethod.Get, function, "/hello/ada?q=x%20y"));
        var getBody = JsonNode.Parse(await get.Content.ReadAsStringAsync())!;
        using var post = await client.SendAsync(fixture.Request(HttpMethod.Post, function, "/items", new StringContent("""{"name":"pen","n":2}""", Encoding.UTF8, "application/json")));
        var postBody = JsonNode.Parse(await post.Content.ReadAsStringAsync())!;
        using var binary = await client.SendAsync(fixture.Request(HttpMethod.Get, function, "/binary"));
        using var missing = await client.SendAsync(fixture.Request(HttpMethod.Get, function, "/nothing-here"));

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("ada", (string?)getBody["hello"]);
        Assert.Equal("x y", (string?)getBody["q"]);
        Assert.Equal("/hello/ada", (string?)getBody["path"]);
        Assert.Equal("GET", (string?)getBody["method"]);
        Assert.Equal("express", get.Headers.GetValues("x-powered-by-test").Single());
        Assert.StartsWith("seen=yes", get.Headers.GetValues("Set-Cookie").Single(), StringComparison.Ordinal);
        Assert.StartsWith("application/json", get.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        Assert.Equal("pen", (string?)postBody["created"]!["name"]);
        Assert.Equal(2, (int)postBody["created"]!["n"]!);
        Assert.Equal(new byte[] { 0, 1, 2, 253, 254, 255 }, await binary.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_function_that_outlives_its_timeout_answers_502()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };

        using var response = await client.SendAsync(fixture.Request(HttpMethod.Get, "slow", "/"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("Internal Server Error", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Start_table_prints_each_url_and_curl_reaches_it_on_star_localhost()
    {
        var url = $"http://express20.default.localhost:{fixture.Port}/";

        var info = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-sS", "--max-time", "120", "--noproxy", "*", url + "hello/curl" })
        {
            info.ArgumentList.Add(arg);
        }

        using var curl = Process.Start(info)!;
        var stdout = curl.StandardOutput.ReadToEndAsync();
        var stderr = curl.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await curl.WaitForExitAsync(cts.Token);

        Assert.Contains(url, fixture.Local.Output, StringComparison.Ordinal);
        Assert.Contains($"http://slow.default.localhost:{fixture.Port}/", fixture.Local.Output, StringComparison.Ordinal);
        Assert.True(curl.ExitCode == 0, await stderr);
        Assert.Equal("curl", (string?)JsonNode.Parse(await stdout)!["hello"]);
    }

    [Fact]
    public async Task Chromium_loads_a_page_from_one_url_whose_fetch_calls_another_url_under_cors()
    {
        await using var chromium = await HeadlessChromium.StartAsync();

        var result = await chromium.WaitForAsync($"http://page.default.localhost:{fixture.Port}/",
            "document.getElementById('result') ? document.getElementById('result').textContent : null",
            text => text is not null && text != "pending", TimeSpan.FromMinutes(3));

        Assert.NotNull(result);
        Assert.StartsWith("status 200 ", result, StringComparison.Ordinal);
        var answer = JsonNode.Parse(result["status 200 ".Length..])!;
        Assert.Equal(42, (int)answer["answer"]!);
        Assert.Equal($"http://page.default.localhost:{fixture.Port}", (string?)answer["origin"]);
        Assert.Equal("browser", (string?)answer["got"]!["from"]);
    }
}
