using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FnOperator.KubeApiServer;

/// <summary>
/// A small in-process Kubernetes API server the real KubernetesClient talks to over HTTP on 127.0.0.1: get, list,
/// watch (resourceVersion, label selectors, 410 after compaction), create, replace with optimistic concurrency (409),
/// status subresource, metadata.generation, cascading deletion through ownerReferences, and a Deployment controller
/// that marks Deployments rolled out. Faults: a conflict rate for updates and dropped watch connections.
/// A stand-in for the team's tests/FnOperator.KubeApiServer until that lands.
/// </summary>
public sealed class StandInApiServer : IAsyncDisposable
{
    private static readonly HashSet<string> WithStatus = ["apps/v1/deployments", "fnoperator.io/v1alpha1/functions", "fnoperator.io/v1alpha1/layers"];
    private readonly Channel<(string Ns, string Name)> rollouts = Channel.CreateUnbounded<(string, string)>();
    private CancellationTokenSource watches = new();
    private WebApplication? app;
    private Task? deploymentController;
    private readonly CancellationTokenSource stopping = new();

    public ObjectStore Store { get; } = new();

    /// <summary>Share of updates (PUT) answered 409 Conflict regardless of resourceVersion, 0..1.</summary>
    public double ConflictRate { get; set; }

    /// <summary>When false, Deployments stay unready (status not updated) until set back to true.</summary>
    public bool SimulateDeployments { get; set; } = true;

    public Uri BaseUri { get; private set; } = new("http://127.0.0.1");

    public int Conflicts;

    public static async Task<StandInApiServer> StartAsync()
    {
        var server = new StandInApiServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        server.app = builder.Build();
        server.app.Map("/{**path}", server.HandleAsync);
        await server.app.StartAsync();
        server.BaseUri = new Uri(server.app.Urls.First());
        server.Store.Changed += server.OnChanged;
        server.deploymentController = Task.Run(server.RunDeploymentControllerAsync);
        return server;
    }

    public IKubernetes CreateClient() => new Kubernetes(new KubernetesClientConfiguration { Host = BaseUri.ToString() });

    /// <summary>Cuts every open watch connection, as a restarting API server or a flaky network does.</summary>
    public void DropWatches()
    {
        var old = Interlocked.Exchange(ref watches, new CancellationTokenSource());
        old.Cancel();
        old.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var route = Route.Parse(context.Request.Path.Value ?? "");
        if (route is null)
        {
            await WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound", "unknown path");
            return;
        }

        var method = context.Request.Method;
        if (method == "GET" && route.Name is null)
        {
            if (context.Request.Query["watch"] == "true" || context.Request.Query["watch"] == "1")
            {
                await WatchAsync(context, route);
            }
            else
            {
                await ListAsync(context, route);
            }

            return;
        }

        if (method == "GET")
        {
            var obj = Store.Get(route.Resource, route.Ns!, route.Name!);
            await (obj is null ? NotFound(context, route) : WriteJsonAsync(context, HttpStatusCode.OK, obj));
            return;
        }

        var body = method is "POST" or "PUT" ? (JsonObject?)await JsonNode.ParseAsync(context.Request.Body) : null;
        switch (method)
        {
            case "POST":
                await CreateAsync(context, route, body!);
                break;
            case "PUT":
                await ReplaceAsync(context, route, body!);
                break;
            case "DELETE":
                await DeleteAsync(context, route);
                break;
            default:
                await WriteStatusAsync(context, HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", method);
                break;
        }
    }

    private async Task CreateAsync(HttpContext context, Route route, JsonObject body)
    {
        var metadata = body["metadata"]!.AsObject();
        var name = (string)metadata["name"]!;
        if (Store.Get(route.Resource, route.Ns!, name) is not null)
        {
            await WriteStatusAsync(context, HttpStatusCode.Conflict, "AlreadyExists", $"{route.ResourceName} \"{name}\" already exists");
            return;
        }

        metadata["namespace"] = route.Ns;
        metadata["uid"] = Guid.NewGuid().ToString();
        metadata["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        metadata["generation"] = 1L; // long: readers cast with (long), which throws on an Int32 node
        if (WithStatus.Contains(route.Resource))
        {
            body.Remove("status");
        }

        var stored = Store.Put(route.Resource, route.Ns!, name, body, "ADDED");
        await WriteJsonAsync(context, HttpStatusCode.Created, stored);
    }

    private async Task ReplaceAsync(HttpContext context, Route route, JsonObject body)
    {
        JsonObject stored;
        lock (Store.Gate)
        {
            var existing = Store.Get(route.Resource, route.Ns!, route.Name!);
            if (existing is null)
            {
                stored = null!;
            }
            else if ((string?)body["metadata"]?["resourceVersion"] != (string?)existing["metadata"]!["resourceVersion"] ||
                     (ConflictRate > 0 && Random.Shared.NextDouble() < ConflictRate))
            {
                Interlocked.Increment(ref Conflicts);
                stored = new JsonObject { ["conflict"] = true };
            }
            else
            {
                var updated = route.Subresource == "status" ? WithNewStatus(existing, body) : WithNewSpec(route, existing, body);
                stored = Store.Put(route.Resource, route.Ns!, route.Name!, updated, "MODIFIED");
            }
        }

        if (stored is null)
        {
            await NotFound(context, route);
        }
        else if (stored.ContainsKey("conflict"))
        {
            await WriteStatusAsync(context, HttpStatusCode.Conflict, "Conflict",
                $"Operation cannot be fulfilled on {route.ResourceName} \"{route.Name}\": the object has been modified; please apply your changes to the latest version and try again");
        }
        else
        {
            await WriteJsonAsync(context, HttpStatusCode.OK, stored);
        }
    }

    private static JsonObject WithNewStatus(JsonObject existing, JsonObject body)
    {
        var updated = (JsonObject)existing.DeepClone();
        updated["status"] = body["status"]?.DeepClone();
        return updated;
    }

    private static JsonObject WithNewSpec(Route route, JsonObject existing, JsonObject body)
    {
        var updated = (JsonObject)body.DeepClone();
        var metadata = updated["metadata"]!.AsObject();
        foreach (var kept in new[] { "uid", "creationTimestamp", "namespace", "name", "generation" })
        {
            metadata[kept] = existing["metadata"]![kept]?.DeepClone();
        }

        if (WithStatus.Contains(route.Resource))
        {
            updated["status"] = existing["status"]?.DeepClone();
            if (!JsonNode.DeepEquals(existing["spec"], updated["spec"]))
            {
                metadata["generation"] = (long)existing["metadata"]!["generation"]! + 1;
            }
        }

        return updated;
    }

    private async Task DeleteAsync(HttpContext context, Route route)
    {
        var removed = Store.Remove(route.Resource, route.Ns!, route.Name!);
        if (removed is null)
        {
            await NotFound(context, route);
            return;
        }

        // Background cascading deletion, as the garbage collector does for dependents with ownerReferences.
        var pending = new Queue<string>([(string)removed["metadata"]!["uid"]!]);
        while (pending.TryDequeue(out var uid))
        {
            foreach (var (resource, ns, name) in Store.Dependents(uid))
            {
                if (Store.Remove(resource, ns, name) is { } child)
                {
                    pending.Enqueue((string)child["metadata"]!["uid"]!);
                }
            }
        }

        await WriteStatusAsync(context, HttpStatusCode.OK, "", "deleted", "Success");
    }

    private async Task ListAsync(HttpContext context, Route route)
    {
        var selector = LabelSelector.Parse(context.Request.Query["labelSelector"]);
        var (items, version) = Store.List(route.Resource, route.Ns);
        var list = new JsonObject
        {
            ["apiVersion"] = route.ApiVersion,
            ["kind"] = "List",
            ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) },
            ["items"] = new JsonArray([.. items.Where(selector.Matches)]),
        };
        await WriteJsonAsync(context, HttpStatusCode.OK, list);
    }

    private async Task WatchAsync(HttpContext context, Route route)
    {
        var selector = LabelSelector.Parse(context.Request.Query["labelSelector"]);
        var timeout = int.TryParse(context.Request.Query["timeoutSeconds"], out var t) ? TimeSpan.FromSeconds(t) : TimeSpan.FromMinutes(30);
        long.TryParse(context.Request.Query["resourceVersion"], out var since);
        if (since == 0)
        {
            since = Store.CurrentVersion;
        }

        var channel = Channel.CreateUnbounded<StoredEvent>();
        void Forward(StoredEvent e) => channel.Writer.TryWrite(e);
        Store.Changed += Forward;
        try
        {
            var dropped = watches.Token;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, dropped, stopping.Token);
            cts.CancelAfter(timeout);
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            var backlog = Store.Since(since);
            if (backlog is null)
            {
                await WriteLineAsync(context, new JsonObject
                {
                    ["type"] = "ERROR",
                    ["object"] = StatusObject(HttpStatusCode.Gone, "Expired", $"too old resource version: {since}"),
                });
                return;
            }

            var last = since;
            async Task SendAsync(StoredEvent e)
            {
                if (e.ResourceVersion <= last || e.Resource != route.Resource ||
                    (route.Ns is not null && (string?)e.Object["metadata"]?["namespace"] != route.Ns) || !selector.Matches(e.Object))
                {
                    last = Math.Max(last, e.ResourceVersion);
                    return;
                }

                last = e.ResourceVersion;
                await WriteLineAsync(context, new JsonObject { ["type"] = e.Type, ["object"] = e.Object.DeepClone() });
            }

            foreach (var e in backlog)
            {
                await SendAsync(e);
            }

            try
            {
                await foreach (var e in channel.Reader.ReadAllAsync(cts.Token))
                {
                    await SendAsync(e);
                }
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested && !stopping.IsCancellationRequested)
            {
                if (dropped.IsCancellationRequested)
                {
                    context.Abort(); // dropped: the client sees a broken stream, not a clean end
                    return;
                }

                // Timed out: a bookmark, then a clean end; the client resumes from it.
                await WriteLineAsync(context, new JsonObject
                {
                    ["type"] = "BOOKMARK",
                    ["object"] = new JsonObject { ["kind"] = route.Kind, ["apiVersion"] = route.ApiVersion, ["metadata"] = new JsonObject { ["resourceVersion"] = last.ToString(CultureInfo.InvariantCulture) } },
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Store.Changed -= Forward;
        }
    }


    private void OnChanged(StoredEvent e)
    {
        if (e.Resource == "apps/v1/deployments" && e.Type != "DELETED")
        {
            var status = e.Object["status"];
            var generation = (long?)e.Object["metadata"]?["generation"];
            var replicas = (int?)e.Object["spec"]?["replicas"] ?? 1;
            if ((long?)status?["observedGeneration"] != generation || (int?)status?["readyReplicas"] != replicas)
            {
                rollouts.Writer.TryWrite(((string)e.Object["metadata"]!["namespace"]!, (string)e.Object["metadata"]!["name"]!));
            }
        }
    }

    // Plays the Deployment controller and kubelet: brings status to the spec (all replicas updated and ready).
    private async Task RunDeploymentControllerAsync()
    {
        try
        {
            await foreach (var (ns, name) in rollouts.Reader.ReadAllAsync(stopping.Token))
            {
                while (!SimulateDeployments)
                {
                    await Task.Delay(20, stopping.Token);
                }

                lock (Store.Gate)
                {
                    var deployment = Store.Get("apps/v1/deployments", ns, name);
                    if (deployment is null)
                    {
                        continue;
                    }

                    var replicas = (int?)deployment["spec"]?["replicas"] ?? 1;
                    deployment["status"] = new JsonObject
                    {
                        ["observedGeneration"] = (long)deployment["metadata"]!["generation"]!,
                        ["replicas"] = replicas,
                        ["updatedReplicas"] = replicas,
                        ["readyReplicas"] = replicas,
                        ["availableReplicas"] = replicas,
                        ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Available", ["status"] = "True", ["reason"] = "MinimumReplicasAvailable" }),
                    };
                    if (!JsonNode.DeepEquals(deployment["status"], Store.Get("apps/v1/deployments", ns, name)?["status"]))
                    {
                        Store.Put("apps/v1/deployments", ns, name, deployment, "MODIFIED");
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static Task NotFound(HttpContext context, Route route) =>
        WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound", $"{route.ResourceName} \"{route.Name}\" not found");

    private static JsonObject StatusObject(HttpStatusCode code, string reason, string message, string status = "Failure") => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = status,
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = (int)code,
    };

    private static Task WriteStatusAsync(HttpContext context, HttpStatusCode code, string reason, string message, string status = "Failure") =>
        WriteJsonAsync(context, code, StatusObject(code, reason, message, status));

    private static async Task WriteJsonAsync(HttpContext context, HttpStatusCode code, JsonNode body)
    {
        context.Response.StatusCode = (int)code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private static async Task WriteLineAsync(HttpContext context, JsonNode body)
    {
        await context.Response.WriteAsync(body.ToJsonString() + "\n");
        await context.Response.Body.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        DropWatches();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        if (deploymentController is not null)
        {
            await deploymentController;
        }

        stopping.Dispose();
    }
}
