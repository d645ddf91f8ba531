using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace FnOperator.KubeApiServer;

/// <summary>
/// Watch streams (one JSON event per line): from a resourceVersion (410 Gone as an ERROR event when it was
/// compacted away), or with synthetic ADDED events for the current state when none is given; label/field selector
/// transitions become ADDED/DELETED; periodic BOOKMARKs when allowed; timeoutSeconds ends the stream cleanly;
/// dropped watches (fault injection, restart) break the connection; a watch lag (fault injection) holds each live event
/// back until that long after its change.
/// </summary>
internal sealed class WatchHandler(ObjectStore store, FaultInjector faults, KubeApiServerOptions options)
{
    private int open;

    /// <summary>Watch streams currently being served.</summary>
    public int Open => Volatile.Read(ref open);

    public async Task WatchAsync(HttpContext context, ResourceType type, Route route, CancellationToken serverStopping)
    {
        var labels = LabelSelector.Parse(HttpIo.Query(context, "labelSelector"));
        var fields = FieldSelector.Parse(HttpIo.Query(context, "fieldSelector"), type);
        var bookmarks = HttpIo.QueryFlag(context, "allowWatchBookmarks");
        var timeout = int.TryParse(HttpIo.Query(context, "timeoutSeconds"), out var t) && t > 0 ? TimeSpan.FromSeconds(t) : TimeSpan.FromMinutes(30);
        var requested = HttpIo.Query(context, "resourceVersion");
        var sendInitial = HttpIo.Query(context, "sendInitialEvents") is { } s ? s == "true" : string.IsNullOrEmpty(requested) || requested == "0";
        var ns = type.Namespaced ? route.Ns : null;
        bool Selected(JsonObject obj) => (ns is null || (string?)obj["metadata"]?["namespace"] == ns) && labels.Matches(obj) && fields.Matches(obj);

        var channel = Channel.CreateUnbounded<(StoredEvent Event, long At)>();
        void Forward(StoredEvent e) => channel.Writer.TryWrite((e, Environment.TickCount64));
        List<StoredEvent> initial;
        long last;
        lock (store.Gate)
        {
            last = store.CurrentVersion;
            if (sendInitial)
            {
                initial = [.. store.List(type.StorageKey, ns).Items.Where(Selected).Select(o => new StoredEvent(last, type.StorageKey, "ADDED", o))];
            }
            else if (string.IsNullOrEmpty(requested) || requested == "0")
            {
                initial = []; // sendInitialEvents=false without a resourceVersion: changes from now on
            }
            else
            {
                var since = long.TryParse(requested, NumberStyles.None, CultureInfo.InvariantCulture, out var rv) ? rv
                    : throw ApiException.BadRequest($"invalid resource version: {requested}");
                initial = store.Since(since) ?? [];
                if (since < store.OldestWatchable)
                {
                    initial = [new StoredEvent(0, type.StorageKey, "ERROR", ApiException.Gone($"too old resource version: {since} ({store.OldestWatchable})").Status)];
                }
            }

            store.Changed += Forward;
            Interlocked.Increment(ref open);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, faults.WatchToken, serverStopping);
        using var timedOut = new CancellationTokenSource(timeout);
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, timedOut.Token);
        try
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(ended.Token);
            foreach (var e in initial)
            {
                if (e.Type == "ERROR")
                {
                    await HttpIo.WriteLineAsync(context, new JsonObject { ["type"] = "ERROR", ["object"] = e.Object }, ended.Token);
                    return;
                }

                await SendAsync(context, type, e, Selected, ended.Token);
            }

            if (sendInitial && bookmarks && HttpIo.Query(context, "sendInitialEvents") == "true")
            {
                await BookmarkAsync(context, type, last, ended.Token, initialEventsEnd: true);
            }

            while (!ended.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ended.Token);
                wait.CancelAfter(bookmarks ? options.BookmarkInterval : Timeout.InfiniteTimeSpan);
                try
                {
                    await channel.Reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!ended.IsCancellationRequested)
                {
                    await BookmarkAsync(context, type, last, ended.Token);
                    continue;
                }

                while (channel.Reader.TryRead(out var change))
                {
                    var e = change.Event;
                    if (e.Resource == type.StorageKey && faults.WatchLag(type.StorageKey) is var lag && lag > TimeSpan.Zero &&
                        change.At + (long)lag.TotalMilliseconds - Environment.TickCount64 is var hold and > 0)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(hold), ended.Token);
                    }

                    if (e.ResourceVersion > last)
                    {
                        last = e.ResourceVersion;
                        await SendAsync(context, type, e, Selected, ended.Token);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // below: a timeout ends the stream cleanly; a drop or restart breaks the connection
        }
        finally
        {
            store.Changed -= Forward;
            Interlocked.Decrement(ref open);
        }

        if (stop.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            context.Abort();
        }
    }

    private static async Task SendAsync(HttpContext context, ResourceType type, StoredEvent e, Func<JsonObject, bool> selected, CancellationToken cancellationToken)
    {
        if (e.Resource != type.StorageKey)
        {
            return;
        }

        var now = selected(e.Object);
        var before = e.Previous is not null && selected(e.Previous);
        var kind = e.Type switch
        {
            "MODIFIED" when now && before => "MODIFIED",
            "MODIFIED" when now => "ADDED",
            "MODIFIED" when before => "DELETED",
            "ADDED" or "DELETED" when now => e.Type,
            _ => null,
        };
        if (kind is not null)
        {
            await HttpIo.WriteLineAsync(context, new JsonObject { ["type"] = kind, ["object"] = HttpIo.AsVersion((JsonObject)e.Object.DeepClone(), type) }, cancellationToken);
        }
    }

    private static Task BookmarkAsync(HttpContext context, ResourceType type, long version, CancellationToken cancellationToken, bool initialEventsEnd = false)
    {
        var metadata = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) };
        if (initialEventsEnd)
        {
            metadata["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
        }

        return HttpIo.WriteLineAsync(context, new JsonObject
        {
            ["type"] = "BOOKMARK",
            ["object"] = new JsonObject { ["kind"] = type.Kind, ["apiVersion"] = type.ApiVersion, ["metadata"] = metadata },
        }, cancellationToken);
    }
}
