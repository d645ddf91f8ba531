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
