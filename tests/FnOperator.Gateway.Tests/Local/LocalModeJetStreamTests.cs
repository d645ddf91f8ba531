using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Local mode with <c>--queue nats://…</c>, the real runtime-shim, and what function code can reach of the pull protocol.</summary>
public sealed class LocalModeJetStreamTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempManifests dir = new();

    [Fact]
    public async Task Queued_events_survive_a_local_mode_restart_with_a_nats_queue_and_function_code_cannot_lease()
    {
        await using var nats = await NatsServer.StartAsync();
        var marker = Path.Combine(dir.SharedWritableFolder("out"), "ran.txt");
        var port = FreePort();
        var gateway = $"http://127.0.0.1:{port}";
        WriteFunctions(marker, gateway, blocked: true);
        string[] args = ["--queue", nats.Url, "--listen", $"127.0.0.1:{port}"];

        await using (var first = await LocalModeProcess.StartAsync(dir.Root, args))
        {
            using var http = new HttpClient { BaseAddress = new Uri(first.Endpoint) };
            for (var i = 0; i < 3; i++)
            {
                using var accepted = await http.SendAsync(TestGateway.Invoke("later", $$"""{"n":{{i}}}""", "Event"));
                Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            }

            Assert.Equal(0, await first.StopAsync(Wait));
        }

        Assert.False(File.Exists(marker), "a blocked function ran");
        WriteFunctions(marker, gateway, blocked: false);
        await using var second = await LocalModeProcess.StartAsync(dir.Root, args);
        using var client = new HttpClient { BaseAddress = new Uri(second.Endpoint), Timeout = Wait };
        using var snooped = await client.SendAsync(TestGateway.Invoke("snoop"));
        var snoop = JsonNode.Parse(await snooped.Content.ReadAsStringAsync())!;

        await TestWait.UntilAsync(() => File.Exists(marker) && File.ReadAllLines(marker).Length >= 3, Wait);
        Assert.Equal(["0", "1", "2"], File.ReadAllLines(marker).Select(l => (string)JsonNode.Parse(l)!["n"]!.ToString()).Order());
        Assert.Equal(401, (int)snoop["own"]!);
        Assert.Equal(401, (int)snoop["other"]!);
        Assert.Empty(snoop["fnop"]!.AsArray());
    }

    private void WriteFunctions(string marker, string gateway, bool blocked)
    {
        dir.NodeFunction("later", "later", $$"""
            environment:
              - name: MARKER
                value: "{{marker}}"
            {{(blocked ? "concurrency:\n  reserved: 0" : "")}}
            """, """
            const fs = require("fs");
            exports.handler = async (event) => { fs.appendFileSync(process.env.MARKER, JSON.stringify(event) + "\n"); return null; };
            """);
        dir.NodeFunction("snoop", "snoop", $$"""
            environment:
              - name: GATEWAY
                value: "{{gateway}}"
            """, """
            exports.handler = async () => {
              const next = (fn) => fetch(process.env.GATEWAY + "/_fnop/v1/functions/default/" + fn + "/versions/%24LATEST/next?waitMs=10");
              const own = await next("snoop");
              const other = await next("later");
              return { own: own.status, other: other.status, fnop: Object.keys(process.env).filter((k) => k.startsWith("FNOP_")) };
            };
            """);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose() => dir.Dispose();
}
