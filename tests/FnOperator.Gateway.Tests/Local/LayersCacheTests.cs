using System.IO.Compression;
using System.Security.Cryptography;
using FnOperator.Gateway.Local;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Local mode's url layer content: fetched once from a loopback server into the cache, verified, never extracted on a mismatch.</summary>
public sealed class LayersCacheTests : IAsyncLifetime
{
    private readonly string cacheDir = Directory.CreateTempSubdirectory("fnop-layers-cache-").FullName;
    private WebApplication server = null!;
    private int requests;
    private byte[] archive = [];

    public async Task InitializeAsync()
    {
        using (var memory = new MemoryStream())
        {
            using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
            {
                await using var writer = new StreamWriter(zip.CreateEntry("python/cached.py").Open());
                await writer.WriteAsync("X = 1\n");
            }

            archive = memory.ToArray();
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        server = builder.Build();
        server.MapGet("/layer.zip", () =>
        {
            Interlocked.Increment(ref requests);
            return Results.Bytes(archive, "application/zip");
        });
        await server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(cacheDir, recursive: true);
    }

    [Fact]
    public async Task Archive_is_downloaded_once_verified_and_extracted()
    {
        using var http = new HttpClient();
        var cache = new LayersCache(cacheDir, http);
        var sha = Convert.ToHexStringLower(SHA256.HashData(archive));
        var url = server.Urls.First() + "/layer.zip";

        var first = await cache.GetAsync(url, sha, CancellationToken.None);
        var second = await cache.GetAsync(url, sha, CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Equal("X = 1\n", await File.ReadAllTextAsync(Path.Combine(first, "python", "cached.py")));
        Assert.Equal(1, requests);
    }

    [Fact]
    public async Task Checksum_mismatch_is_refused_and_nothing_is_cached()
    {
        using var http = new HttpClient();
        var cache = new LayersCache(cacheDir, http);
        var wrong = new string('0', 64);

        var error = await Assert.ThrowsAsync<LayerContentException>(() => cache.GetAsync(server.Urls.First() + "/layer.zip", wrong, CancellationToken.None));

        Assert.Contains(wrong, error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cacheDir));
    }
}
