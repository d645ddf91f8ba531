using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using FnOperator.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace FnOperator.EventSources.Tests;

/// <summary>The pollers' invoke token file: re-read after the refresh interval or on request (a rotated projected token).</summary>
public sealed class BearerTokenFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fnop-token-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task Rotated_token_is_used_after_the_refresh_interval_or_when_a_refresh_is_asked()
    {
        var time = new FakeTimeProvider();
        var path = Path.Combine(dir, "token");
        var file = new BearerTokenFile(path, time);
        await File.WriteAllTextAsync(path, "first\n");

        Assert.Equal("first", await file.GetAsync(refresh: false, default));
        await File.WriteAllTextAsync(path, "second");
        Assert.Equal("first", await file.GetAsync(refresh: false, default));
        time.Advance(BearerTokenFile.RefreshInterval + TimeSpan.FromSeconds(1));
        Assert.Equal("second", await file.GetAsync(refresh: false, default));

        await File.WriteAllTextAsync(path, "third");
        Assert.Equal("third", await file.GetAsync(refresh: true, default));
    }

    [Fact]
    public async Task Missing_or_empty_file_gives_no_token_and_an_oversized_one_is_refused()
    {
        var path = Path.Combine(dir, "token");
        var file = new BearerTokenFile(path, TimeProvider.System);
        Assert.Null(await file.GetAsync(refresh: true, default));
        await File.WriteAllTextAsync(path, "  \n");
        Assert.Null(await file.GetAsync(refresh: true, default));
        await File.WriteAllTextAsync(path, new string('x', BearerTokenFile.MaxBytes + 1));
        await Assert.ThrowsAsync<IOException>(() => file.GetAsync(refresh: true, default));
    }
}

/// <summary>The Invoke client with a token file against a small HTTP server that accepts only the current token.</summary>
public sealed class InvokeClientCredentialTests : IAsyncLifetime
{
    private readonly string dir = Directory.CreateTempSubdirectory("fnop-invoke-token-").FullName;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string?> seen = new();
    private Microsoft.AspNetCore.Builder.WebApplication app = null!;
    private volatile string current = "token-1";

    public async Task InitializeAsync()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        app = builder.Build();
        app.Run(async (HttpContext context) =>
        {
            var auth = context.Request.Headers.Authorization.ToString();
            seen.Enqueue(auth.Length == 0 ? null : auth);
            if (auth != "Bearer " + current)
            {
                context.Response.StatusCode = 403;
                context.Response.Headers[InvokeClient.ErrorTypeHeader] = "UnrecognizedClientException";
                await context.Response.WriteAsync("""{"message":"The security token included in the request is invalid."}""");
                return;
            }

            await context.Response.WriteAsync("null");
        });
        await app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await app.DisposeAsync();
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_rotated_token_is_read_again_after_a_refusal_and_the_invoke_is_sent_once_more()
    {
        var path = Path.Combine(dir, "token");
        await File.WriteAllTextAsync(path, "token-1");
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        var client = new InvokeClient(http, new BearerTokenFile(path, new FakeTimeProvider()));

        Assert.Equal(200, (await client.InvokeAsync("default/f", null, "{}"u8.ToArray(), false, default)).StatusCode);
        current = "token-2"; // the kubelet rotated the token: the old one is refused from now on
        await File.WriteAllTextAsync(path, "token-2");
        var outcome = await client.InvokeAsync("default/f", null, "{}"u8.ToArray(), false, default);

        Assert.Equal(200, outcome.StatusCode);
        Assert.Equal(["Bearer token-1", "Bearer token-1", "Bearer token-2"], seen);
    }

    [Fact]
    public async Task A_refused_token_reports_the_gateways_error()
    {
        var path = Path.Combine(dir, "token");
        await File.WriteAllTextAsync(path, "stale");
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        var outcome = await new InvokeClient(http, new BearerTokenFile(path, TimeProvider.System)).InvokeAsync("default/f", null, "{}"u8.ToArray(), false, default);

        Assert.True(outcome.Denied);
        Assert.Equal("UnrecognizedClientException", outcome.ErrorType);
        Assert.Equal("The security token included in the request is invalid.", outcome.ErrorMessage);
        Assert.Equal(2, seen.Count); // the first answer and one retry with the re-read file
        var result = BatchResult.From(outcome, [], reportBatchItemFailures: false);
        Assert.True(result.Denied && result.Throttled);
    }
}
