using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace FnOperator.Operator.Tests.Versions;

/// <summary>
/// A real OCI registry (Debian's docker-registry, CNCF distribution 2.8) on 127.0.0.1 and a free port with a temp storage
/// folder, and pushes without docker: a config blob and a layer blob uploaded (POST /v2/&lt;name&gt;/blobs/uploads/, PUT
/// ?digest=), then a Docker v2 manifest PUT under a tag.
/// </summary>
public sealed class RegistryServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/docker-registry";

    private readonly Process process;
    private readonly string dir;
    private readonly HttpClient http;
    private readonly StringBuilder output = new();

    private RegistryServer(Process process, string dir, int port)
    {
        this.process = process;
        this.dir = dir;
        Port = port;
        http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public int Port { get; }

    /// <summary>host:port as written in an image reference.</summary>
    public string Host => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <param name="extraConfig">More YAML appended to the config (e.g. an auth section).</param>
    public static async Task<RegistryServer> StartAsync(string extraConfig = "")
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("fnop-registry-").FullName;
        var config = Path.Combine(dir, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {Path.Combine(dir, "data")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
            {extraConfig}
            """);
        var info = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(config);
        var process = Process.Start(info)!;
        var server = new RegistryServer(process, dir, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with {process.ExitCode}: {server.Output}");
            }

            try
            {
                using var response = await server.http.GetAsync("/v2/");
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"docker-registry did not answer on {port} within 60 s: {server.Output}");
            }

            await Task.Delay(100);
        }
    }

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    /// <summary>Pushes a one-layer image whose layer holds <paramref name="content"/> under <paramref name="tag"/>; returns the manifest digest.</summary>
    public async Task<string> PushAsync(string repository, string tag, string content, AuthenticationHeaderValue? auth = null)
    {
        var layer = Encoding.UTF8.GetBytes(content);
        var configBlob = Encoding.UTF8.GetBytes($$"""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["{{Digest(layer)}}"]},"config":{} }""");
        await UploadAsync(repository, configBlob, auth);
        await UploadAsync(repository, layer, auth);
        var manifest = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":{{configBlob.Length}},"digest":"{{Digest(configBlob)}}"},
             "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{{layer.Length}},"digest":"{{Digest(layer)}}"}]}
            """);
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/v2/{repository}/manifests/{tag}") { Content = new ByteArrayContent(manifest) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.docker.distribution.manifest.v2+json");
        request.Headers.Authorization = auth;
        using var response = await http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"manifest PUT: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var digest = response.Headers.GetValues("Docker-Content-Digest").Single();
        Assert.Equal(Digest(manifest), digest);
        return digest;
    }

    public static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    private async Task UploadAsync(string repository, byte[] blob, AuthenticationHeaderValue? auth)
    {
        using var start = new HttpRequestMessage(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");
        start.Headers.Authorization = auth;
        using var started = await http.SendAsync(start);
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, $"upload POST: {(int)started.StatusCode} {await started.Content.ReadAsStringAsync()}");
        var location = started.Headers.Location!.ToString();
        var uri = location + (location.Contains('?') ? "&" : "?") + "digest=" + Uri.EscapeDataString(Digest(blob));
        using var put = new HttpRequestMessage(HttpMethod.Put, uri) { Content = new ByteArrayContent(blob) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        put.Headers.Authorization = auth;
        using var done = await http.SendAsync(put);
        Assert.True(done.StatusCode == HttpStatusCode.Created, $"upload PUT: {(int)done.StatusCode} {await done.Content.ReadAsStringAsync()}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            if (output.Length < 64 * 1024)
            {
                output.AppendLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
