using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>
/// Debian's chromium, headless, driven over the DevTools protocol: opens a page and evaluates an expression in it
/// until it yields a value. Root needs --no-sandbox; each instance gets its own temporary profile; killed on dispose.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process process;
    private readonly string profile;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(60) };

    private HeadlessChromium(Process process, string profile, Uri devtools)
    {
        this.process = process;
        this.profile = profile;
        DevTools = devtools;
    }

    public Uri DevTools { get; }

    public static async Task<HeadlessChromium> StartAsync()
    {
        var profile = Directory.CreateTempSubdirectory("fnop-chromium-").FullName;
        var info = new ProcessStartInfo("chromium") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                     "--disable-extensions", "--disable-background-networking", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                     $"--user-data-dir={profile}", "about:blank" })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // Chromium writes the port it chose into DevToolsActivePort in the profile.
        var portFile = Path.Combine(profile, "DevToolsActivePort");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            if (File.Exists(portFile) && (await File.ReadAllLinesAsync(portFile)) is [var port, ..] && int.TryParse(port, out var number))
            {
                return new HeadlessChromium(process, profile, new Uri($"http://127.0.0.1:{number}"));
            }

            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"chromium did not start its DevTools endpoint (exited: {process.HasExited})");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Opens <paramref name="url"/> in a new tab and evaluates <paramref name="expression"/> until <paramref name="done"/> accepts its value.</summary>
    public async Task<string?> WaitForAsync(string url, string expression, Func<string?, bool> done, TimeSpan timeout)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, new Uri(DevTools, "/json/new?" + url));
        using var created = await http.SendAsync(put);
        created.EnsureSuccessStatusCode();
        var target = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        using var socket = new ClientWebSocket();
        using var cts = new CancellationTokenSource(timeout);
        await socket.ConnectAsync(new Uri((string)target["webSocketDebuggerUrl"]!), cts.Token);
        var id = 0;
        string? last = null;
        while (!cts.IsCancellationRequested)
        {
            var request = new JsonObject
            {
                ["id"] = ++id,
                ["method"] = "Runtime.evaluate",
                ["params"] = new JsonObject { ["expression"] = expression, ["returnByValue"] = true },
            };
            await socket.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), WebSocketMessageType.Text, true, cts.Token);
            while (true)
            {
                var reply = await ReceiveAsync(socket, cts.Token);
                if ((int?)reply["id"] != id)
                {
                    continue; // an event, not our answer
                }

                last = reply["result"]?["result"]?["value"]?.ToString();
                break;
            }

            if (done(last))
            {
                return last;
            }

            await Task.Delay(250, cts.Token);
        }

        return last;
    }

    private static async Task<JsonObject> ReceiveAsync(ClientWebSocket socket, CancellationToken ct)
    {
        using var message = new MemoryStream();
        var buffer = new byte[16384];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, ct);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return JsonNode.Parse(message.ToArray())!.AsObject();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(cts.Token);
        }

        process.Dispose();
        try
        {
            Directory.Delete(profile, recursive: true);
        }
        catch (IOException)
        {
            // chromium's last writes may race the delete; the temp folder is left to the OS.
        }
    }
}
