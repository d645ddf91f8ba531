using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using static FnOperator.Operator.Tests.Runtime.ScriptedListWatch;

namespace FnOperator.Operator.Tests.Runtime;

public sealed class InformerTests : IAsyncDisposable
{
    private readonly ScriptedListWatch source = new();
    private readonly FakeTimeProvider time = new();
    private readonly OperatorMetrics metrics = new(Metrics.NewCustomRegistry());
    private readonly CancellationTokenSource stop = new();
    private readonly List<string> deleted = [];
    private Informer<V1ConfigMap>? informer;
    private Task? running;

    private Informer<V1ConfigMap> Start(IReadOnlyList<string>? droppedAnnotations = null, bool compact = false)
    {
        informer = new Informer<V1ConfigMap>("ConfigMap", source, time, metrics, NullLogger.Instance)
        {
            DroppedAnnotations = droppedAnnotations ?? [],
            Compact = compact,
        };
        informer.Deleted += o => { lock (deleted) { deleted.Add(o.Metadata.Uid); } };
        running = Task.Run(() => informer.RunAsync(stop.Token));
        return informer;
    }

    private static ObjectKey Key(string name) => new("default", name);

    [Fact]
    public async Task Lists_then_applies_watch_events_to_the_cache()
    {
        source.EnqueueList("10", Object("a", "ua", "9", "one"));
        source.EnqueueSession(new Session([
            (WatchEventType.Added, Object("b", "ub", "11")),
            (WatchEventType.Modified, Object("a", "ua", "12", "two")),
            (WatchEventType.Deleted, Object("b", "ub", "13")),
        ]));
        var cache = Start();

        await Eventually.True(() => cache.Get(Key("a"))?.Data?["v"] == "two", "a modified");
        await Eventually.True(() => cache.Get(Key("b")) is null && cache.Count == 1, "b deleted");
        Assert.True(cache.HasSynced);
        Assert.Equal("10", source.WatchedFrom.First());
    }

    [Fact]
    public async Task Secondary_index_follows_adds_updates_and_deletes()
    {
        source.EnqueueList("10", Object("a", "ua", "9", "red"), Object("b", "ub", "9", "red"));
        source.EnqueueSession(new Session([
            (WatchEventType.Modified, Object("a", "ua", "11", "blue")),
            (WatchEventType.Deleted, Object("b", "ub", "12", "red")),
            (WatchEventType.Added, Object("c", "uc", "13", "blue")),
        ]));
        informer = new Informer<V1ConfigMap>("ConfigMap", source, time, metrics, NullLogger.Instance);
        informer.AddIndex("color", o => [o.Data?["v"] ?? ""]);
        var cache = informer;
        running = Task.Run(() => cache.RunAsync(stop.Token));

        await Eventually.True(() => cache.Get(Key("c")) is not null, "c added");
        Assert.Empty(cache.ByIndex("color", "red"));
        Assert.Equal(["a", "c"], cache.ByIndex("color", "blue").Select(o => o.Metadata.Name).Order());
        Assert.Throws<InvalidOperationException>(() => cache.ByIndex("size", "L"));
    }

    [Fact]
    public async Task Closed_watch_resumes_from_the_last_seen_or_bookmarked_version_without_relisting()
    {
        source.EnqueueList("10");
        source.EnqueueSession(new Session([
            (WatchEventType.Added, Object("a", "ua", "11")),
            (WatchEventType.Bookmark, new V1ConfigMap { Metadata = new V1ObjectMeta { ResourceVersion = "15" } }),
        ]));
        var cache = Start();

        await Eventually.True(() => source.WatchedFrom.Count == 2, "second watch");
        Assert.Equal(["10", "15"], source.WatchedFrom);
        Assert.Equal(1, source.ListCalls);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task Expired_watch_relists_and_drops_objects_deleted_meanwhile()
    {
        source.EnqueueList("10", Object("a", "ua", "5"), Object("b", "ub", "6"));
        source.EnqueueSession(new Session([], StatusError: new V1Status { Code = 410, Reason = "Expired" }));
        source.EnqueueList("20", Object("a", "ua", "5"));
        var cache = Start();

        await Eventually.True(() => source.ListCalls == 2 && cache.Count == 1, "relist");
        await Eventually.True(() => source.WatchedFrom.Contains("20"), "watch from the new list");
        Assert.NotNull(cache.Get(Key("a")));
        Assert.Null(cache.Get(Key("b")));
        lock (deleted)
        {
            Assert.Equal(["ub"], deleted);
        }

        Assert.Equal(1, metrics.WatchRestarts("ConfigMap", "expired"));
    }

    [Fact]
    public async Task Failed_watch_backs_off_before_watching_again()
    {
        source.EnqueueList("10");
        source.EnqueueSession(new Session([(WatchEventType.Added, Object("a", "ua", "11"))], Throw: new IOException("connection reset")));
        var cache = Start();

        await Eventually.True(() => metrics.WatchRestarts("ConfigMap", "error") == 1, "error counted");
        Assert.Single(source.WatchedFrom); // waiting for the backoff on the fake clock

        await Eventually.True(() =>
        {
            time.Advance(TimeSpan.FromSeconds(1)); // the backoff timer may be armed just after the count went up
            return source.WatchedFrom.Count == 2;
        }, "watch again after backoff");
        Assert.Equal("11", source.WatchedFrom.Last());
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task Object_recreated_under_the_same_name_replaces_the_old_uid()
    {
        source.EnqueueList("10", Object("a", "old", "5"));
        source.EnqueueSession(new Session([(WatchEventType.Added, Object("a", "new", "12"))]));
        var cache = Start();

        await Eventually.True(() => cache.Get(Key("a"))?.Metadata.Uid == "new", "new uid");
        Assert.Equal(1, cache.Count);
        lock (deleted)
        {
            Assert.Equal(["old"], deleted);
        }
    }

    [Fact]
    public async Task Cache_drops_managed_fields_and_the_named_annotations_and_keeps_the_rest()
    {
        static V1ConfigMap Bulky(string name, string uid, string rv)
        {
            var obj = Object(name, uid, rv, "one");
            obj.Metadata.ManagedFields = [new V1ManagedFieldsEntry { Manager = "kubectl", Operation = "Update" }];
            obj.Metadata.Annotations = new Dictionary<string, string> { ["last-applied"] = "{...}", ["keep"] = "yes" };
            return obj;
        }

        source.EnqueueList("10", Bulky("a", "ua", "9"));
        source.EnqueueSession(new Session([(WatchEventType.Added, Bulky("b", "ub", "11"))]));
        var cache = Start(["last-applied"]);

        await Eventually.True(() => cache.Count == 2, "a listed and b watched");
        foreach (var obj in cache.List())
        {
            Assert.Null(obj.Metadata.ManagedFields);
            Assert.Equal(new Dictionary<string, string> { ["keep"] = "yes" }, obj.Metadata.Annotations);
            Assert.Equal("one", obj.Data["v"]);
        }
    }

    [Fact]
    public async Task Compact_cache_serves_the_same_objects_as_fresh_copies_and_tracks_changes()
    {
        var modified = new List<(string? Old, string New)>();
        source.EnqueueList("10", Object("a", "ua", "9", "one"), Object("c", "uc", "8", "three"));
        source.EnqueueSession(new Session([
            (WatchEventType.Modified, Object("a", "ua", "12", "two")),
            (WatchEventType.Deleted, Object("c", "uc", "13")),
        ]));
        var cache = new Informer<V1ConfigMap>("ConfigMap", source, time, metrics, NullLogger.Instance) { Compact = true };
        cache.Upserted += (old, obj) => { lock (modified) { modified.Add((old?.Data?["v"], obj.Data["v"])); } };
        cache.Deleted += o => { lock (deleted) { deleted.Add(o.Metadata.Uid); } };
        running = Task.Run(() => cache.RunAsync(stop.Token));

        await Eventually.True(() => cache.Get(Key("a"))?.Data?["v"] == "two" && cache.Count == 1, "a modified, c deleted");
        var first = cache.Get(Key("a"))!;
        first.Data["v"] = "changed by a reader";
        Assert.Equal("two", cache.Get(Key("a"))!.Data["v"]);
        Assert.Equal(("ua", "12"), (cache.List().Single().Metadata.Uid, cache.List().Single().Metadata.ResourceVersion));
        lock (modified)
        {
            Assert.Contains(("one", "two"), modified);
        }

        lock (deleted)
        {
            Assert.Equal(["uc"], deleted);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (running is not null)
        {
            await running.WaitAsync(TimeSpan.FromSeconds(10));
        }

        stop.Dispose();
    }
}
