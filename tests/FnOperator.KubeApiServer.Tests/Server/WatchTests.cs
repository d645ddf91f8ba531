using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

public sealed class WatchTests : ServerTest
{
    private const string Path = "/apis/test.fnoperator.io/v1/namespaces/default/widgets?watch=true";

    protected override KubeApiServerOptions Options => new() { CrdDirectory = Fixtures.CrdDirectory, HistoryWindow = 20, BookmarkInterval = TimeSpan.FromMilliseconds(200) };

    [Fact]
    public async Task Watch_from_a_resource_version_replays_later_changes_in_order()
    {
        var a = await CreateWidgetAsync("a");
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec": {"size": 300}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "a");
        await CreateWidgetAsync("b");
        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, Version, "default", Widgets, "a");

        var events = await WatchAsync($"{Path}&resourceVersion={Rv(a)}", e => e.Count == 3);

        Assert.Equal(["MODIFIED a", "ADDED b", "DELETED a"], events.Select(e => $"{e["type"]} {e["object"]!["metadata"]!["name"]}"));
        Assert.True(events.Select(e => Rv(e["object"]!)).SequenceEqual(events.Select(e => Rv(e["object"]!)).Order()));
    }

    [Fact]
    public async Task Watch_without_a_resource_version_starts_with_the_current_objects()
    {
        await CreateWidgetAsync("a");
        await CreateWidgetAsync("b");

        var events = await WatchAsync(Path, e => e.Count == 2);

        Assert.Equal(["ADDED a", "ADDED b"], events.Select(e => $"{e["type"]} {e["object"]!["metadata"]!["name"]}"));
    }

    [Fact]
    public async Task Watch_with_resource_version_0_without_initial_events_sees_only_new_changes()
    {
        await CreateWidgetAsync("old");
        var watching = WatchAsync($"{Path}&resourceVersion=0&sendInitialEvents=false", e => e.Count == 1);
        await EventuallyAsync(() => Task.FromResult(Server.OpenWatches == 1), "the watch open");

        await CreateWidgetAsync("new");

        Assert.Equal("ADDED new", (await watching).Select(e => $"{e["type"]} {e["object"]!["metadata"]!["name"]}").Single());
    }

    [Fact]
    public async Task Watch_from_a_compacted_resource_version_gets_410_gone_and_a_relist_recovers()
    {
        var first = await CreateWidgetAsync("first");
        for (var i = 0; i < 25; i++)
        {
            await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"c{i}" } }, "default");
        }

        var events = await WatchAsync($"{Path}&resourceVersion={Rv(first)}", e => e.Count == 1);
        var list = ToJson(await Client.CustomObjects.ListNamespacedCustomObjectAsync(Group, Version, "default", Widgets));
        await CreateWidgetAsync("second");
        var resumed = await WatchAsync($"{Path}&resourceVersion={Rv(list)}", e => e.Count == 1);

        Assert.Equal("ERROR", (string?)events[0]["type"]);
        var status = events[0]["object"]!;
        Assert.Equal(("Status", "Expired", 410), ((string?)status["kind"], (string?)status["reason"], (int?)status["code"]));
        Assert.StartsWith($"too old resource version: {Rv(first)}", (string?)status["message"], StringComparison.Ordinal);
        Assert.Equal("ADDED second", $"{resumed[0]["type"]} {resumed[0]["object"]!["metadata"]!["name"]}");
    }

    [Fact]
    public async Task Watch_errors_reach_the_kubernetes_client_as_410()
    {
        var first = await CreateWidgetAsync("first");
        await CreateWidgetAsync("second");
        Server.Store.Compact();
        var seen = new List<WatchEventType>();
        Exception? error = null;

        try
        {
            await foreach (var (type, _) in Client.CustomObjects.WatchListNamespacedCustomObjectAsync(Group, Version, "default", Widgets, resourceVersion: (string?)first["metadata"]!["resourceVersion"], onError: e => error = e).ConfigureAwait(false))
            {
                seen.Add(type);
                break;
            }
        }
        catch (Exception e)
        {
            error = e;
        }

        Assert.Empty(seen);
        var status = Assert.IsType<KubernetesException>(error).Status;
        Assert.Equal((410, "Expired"), (status.Code, status.Reason));
    }

    [Fact]
    public async Task Bookmarks_carry_the_current_resource_version_when_allowed()
    {
        var created = await CreateWidgetAsync("a");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "other" } }, "default");
        var current = Server.Store.CurrentVersion;

        var events = await WatchAsync($"{Path}&resourceVersion={Rv(created)}&allowWatchBookmarks=true", e => e.Count == 2);
        var plain = await WatchAsync($"{Path}&resourceVersion={Rv(created)}&timeoutSeconds=1", _ => false);

        Assert.All(events, e => Assert.Equal("BOOKMARK", (string?)e["type"]));
        Assert.Equal(current, Rv(events[0]["object"]!));
        Assert.Equal("Widget", (string?)events[0]["object"]!["kind"]);
        Assert.Empty(plain); // no bookmarks unless allowed; the timeout ends the stream cleanly
    }

    [Fact]
    public async Task Client_watch_sees_bookmarks_and_ends_cleanly_at_its_timeout()
    {
        var list = ToJson(await Client.CustomObjects.ListNamespacedCustomObjectAsync(Group, Version, "default", Widgets));
        var seen = new List<WatchEventType>();
        Exception? error = null;

        await foreach (var (type, _) in Client.CustomObjects.WatchListNamespacedCustomObjectAsync(Group, Version, "default", Widgets, allowWatchBookmarks: true, resourceVersion: (string?)list["metadata"]!["resourceVersion"], timeoutSeconds: 2, onError: e => error = e))
        {
            seen.Add(type);
        }

        Assert.Null(error);
        Assert.NotEmpty(seen);
        Assert.All(seen, t => Assert.Equal(WatchEventType.Bookmark, t));
    }

    [Fact]
    public async Task Send_initial_events_ends_with_an_initial_events_end_bookmark()
    {
        await CreateWidgetAsync("a");

        var events = await WatchAsync($"{Path}&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", e => e.Count == 2);

        Assert.Equal(["ADDED", "BOOKMARK"], events.Select(e => (string?)e["type"]));
        Assert.Equal("true", (string?)events[1]["object"]!["metadata"]!["annotations"]!["k8s.io/initial-events-end"]);
    }

    [Fact]
    public async Task Label_selector_watches_see_objects_enter_and_leave_the_selection()
    {
        var start = await CreateWidgetAsync("a");
        var watching = WatchAsync($"{Path}&labelSelector=tier%3Dweb&resourceVersion={Rv(start)}", e => e.Count == 2);

        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"metadata": {"labels": {"tier": "web"}}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "a");
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"metadata": {"labels": {"tier": "db"}}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "a");
        var events = await watching;

        Assert.Equal(["ADDED", "DELETED"], events.Select(e => (string?)e["type"]));
    }

    [Fact]
    public async Task Typed_watch_through_the_client_sees_deployment_events()
    {
        var list = await Client.AppsV1.ListNamespacedDeploymentAsync("default");
        using var cts = new CancellationTokenSource(Patience);
        var seen = new List<(WatchEventType, string)>();
        var watch = Task.Run(async () =>
        {
            await foreach (var (type, d) in Client.AppsV1.WatchListNamespacedDeploymentAsync("default", resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
            {
                seen.Add((type, d.Metadata.Name));
                if (seen.Count == 2)
                {
                    return;
                }
            }
        });

        await Client.AppsV1.CreateNamespacedDeploymentAsync(GenerationAndSubresourceTests.Deployment("d", 1), "default");
        await watch;

        Assert.Equal([(WatchEventType.Added, "d"), (WatchEventType.Modified, "d")], seen); // the simulator's status update
    }
}
