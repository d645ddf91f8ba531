using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

public sealed class FaultTests : ServerTest
{
    [Fact]
    public async Task Conflict_injection_is_deterministic_for_a_seed()
    {
        var first = await ConflictPatternAsync(seed: 7);
        var again = await ConflictPatternAsync(seed: 7);
        var other = await ConflictPatternAsync(seed: 8);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Contains('x', first);
        Assert.Contains('.', first);
    }

    [Fact]
    public async Task Dropped_watches_break_the_stream_and_the_client_can_resume()
    {
        var start = await CreateWidgetAsync("a");
        var path = $"/apis/test.fnoperator.io/v1/namespaces/default/widgets?watch=true&resourceVersion={Rv(start)}";
        var watching = WatchAsync(path, _ => false);
        await EventuallyAsync(() => Task.FromResult(Server.OpenWatches == 1), "the watch open");

        Server.DropWatches();

        var broken = await Assert.ThrowsAnyAsync<Exception>(() => watching);
        Assert.IsNotAssignableFrom<OperationCanceledException>(broken); // cut by the server, not our own timeout
        await CreateWidgetAsync("b");
        var resumed = await WatchAsync(path, e => e.Count == 1);
        Assert.Equal("b", (string?)resumed[0]["object"]!["metadata"]!["name"]);
        Assert.Equal(1, Server.Faults.WatchDrops);
    }

    [Fact]
    public async Task Periodic_watch_drops_keep_cutting_new_watches()
    {
        var start = await CreateWidgetAsync("a");
        Server.Faults.DropWatchesEvery(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<Exception>(() => WatchAsync($"/apis/test.fnoperator.io/v1/namespaces/default/widgets?watch=true&resourceVersion={Rv(start)}", _ => false));
        await Assert.ThrowsAnyAsync<Exception>(() => WatchAsync($"/apis/test.fnoperator.io/v1/namespaces/default/widgets?watch=true&resourceVersion={Rv(start)}", _ => false));
        Server.Faults.DropWatchesEvery(null);

        Assert.True(Server.Faults.WatchDrops >= 2);
    }

    [Fact]
    public async Task Watch_lag_delivers_one_resources_events_late_and_in_order_while_reads_and_other_watches_are_current()
    {
        var start = await CreateWidgetAsync("a");
        Server.Faults.SetWatchLag($"{Group}/{Widgets}", TimeSpan.FromSeconds(5));
        var seen = 0;
        var watching = WatchAsync($"/apis/{Group}/{Version}/namespaces/default/widgets?watch=true&resourceVersion={Rv(start)}", e =>
        {
            Volatile.Write(ref seen, e.Count);
            return e.Count == 2;
        });
        await EventuallyAsync(() => Task.FromResult(Server.OpenWatches == 1), "the watch open");

        await CreateWidgetAsync("b");
        await CreateWidgetAsync("c");
        Assert.Equal("b", (string?)(await GetWidgetAsync("b"))["metadata"]!["name"]);
        var map = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "m" } }, "default");
        var mapEvents = await WatchAsync(
            $"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={long.Parse(map.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) - 1}",
            e => e.Count == 1);
        Assert.Equal("m", (string?)mapEvents[0]["object"]!["metadata"]!["name"]);
        Assert.Equal(0, Volatile.Read(ref seen)); // the widgets' events are still held back

        var events = await watching;
        Assert.Equal(["b", "c"], events.Select(e => (string?)e["object"]!["metadata"]!["name"]));
        Assert.All(events, e => Assert.Equal("ADDED", (string?)e["type"]));
        Server.Faults.SetWatchLag($"{Group}/{Widgets}", null);
        Assert.Equal(TimeSpan.Zero, Server.Faults.WatchLag($"{Group}/{Widgets}"));
    }

    [Fact]
    public async Task Restart_keeps_objects_and_port_and_compaction_makes_old_watches_gone()
    {
        var before = await CreateWidgetAsync("a");
        var port = Server.BaseUri.Port;

        await Server.RestartAsync(compactHistory: true);

        Assert.Equal(port, Server.BaseUri.Port);
        Assert.Equal((string?)before["metadata"]!["uid"], (string?)(await GetWidgetAsync("a"))["metadata"]!["uid"]);
        var events = await WatchAsync($"/apis/test.fnoperator.io/v1/namespaces/default/widgets?watch=true&resourceVersion={Rv(before) - 1}", e => e.Count == 1);
        Assert.Equal(410, (int?)events[0]["object"]!["code"]);
        var after = await CreateWidgetAsync("b");
        Assert.True(Rv(after) > Rv(before));
    }

    [Fact]
    public async Task Restart_breaks_open_watches()
    {
        var start = await CreateWidgetAsync("a");
        var watching = WatchAsync($"/apis/test.fnoperator.io/v1/namespaces/default/widgets?watch=true&resourceVersion={Rv(start)}", _ => false);
        await EventuallyAsync(() => Task.FromResult(Server.OpenWatches == 1), "the watch open");

        await Server.RestartAsync();

        var broken = await Assert.ThrowsAnyAsync<Exception>(() => watching);
        Assert.IsNotAssignableFrom<OperationCanceledException>(broken);
        Assert.NotNull(await GetWidgetAsync("a"));
    }

    private static async Task<string> ConflictPatternAsync(int seed)
    {
        await using var server = await KubeApiTestServer.StartAsync(new KubeApiServerOptions { FaultSeed = seed });
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, "default");
        server.ConflictRate = 0.5;
        var pattern = "";
        for (var i = 0; i < 16; i++)
        {
            try
            {
                await client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch($$$"""{"data": {"n": "{{{i}}}"}}""", V1Patch.PatchType.MergePatch), "c", "default");
                pattern += ".";
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                pattern += "x";
            }
        }

        Assert.Equal(pattern.Count(c => c == 'x'), server.Conflicts);
        return pattern;
    }
}
