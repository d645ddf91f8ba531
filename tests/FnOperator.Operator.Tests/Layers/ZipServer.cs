using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Tests.Layers;

/// <summary>A loopback HTTP server the test starts, serving layer archives (never the internet); counts requests per path.</summary>
public sealed class ZipServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, byte[]> files = new(StringComparer.Ordinal);
    private readonly WebApplication app;

    private ZipServer(WebApplication app) => this.app = app;

    public ConcurrentDictionary<string, int> Requests { get; } = new(StringComparer.Ordinal);

    public string BaseUrl => app.Urls.First();

    public static async Task<ZipServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var server = new ZipServer(builder.Build());
        server.app.MapGet("/{name}", (string name) =>
        {
            server.Requests.AddOrUpdate(name, 1, (_, n) => n + 1);
            return server.files.TryGetValue(name, out var bytes) ? Results.Bytes(bytes, "application/zip") : Results.NotFound();
        });
        await server.app.StartAsync();
        return server;
    }

    /// <returns>The url and the SHA-256 of what it serves.</returns>
    public (string Url, string Sha256) Serve(string name, byte[] bytes)
    {
        files[name] = bytes;
        return ($"{BaseUrl}/{name}", Sha(bytes));
    }

    public static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>A zip of the given files (path → text).</summary>
    public static byte[] Zip(params (string Path, string Text)[] entries)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (path, text) in entries)
            {
                using var writer = new StreamWriter(zip.CreateEntry(path).Open());
                writer.Write(text);
            }
        }

        return memory.ToArray();
    }

    /// <summary>A small zip holding one file of <paramref name="bytes"/> zeros (it compresses ~1000:1).</summary>
    public static byte[] ZeroZip(long bytes)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = zip.CreateEntry("zeros.bin", CompressionLevel.Fastest).Open();
            var block = new byte[1 << 20];
            for (long left = bytes; left > 0; left -= block.Length)
            {
                entry.Write(block, 0, (int)Math.Min(block.Length, left));
            }
        }

        return memory.ToArray();
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
