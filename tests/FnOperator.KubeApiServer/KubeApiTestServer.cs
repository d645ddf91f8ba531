using System.Net;
using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FnOperator.KubeApiServer;

/// <summary>
/// An in-process Kubernetes API server on 127.0.0.1 that the real KubernetesClient talks to over HTTP: CRUD, list and
/// watch with resourceVersions, status and scale subresources, generation, finalizers and garbage collection, CRD
/// validation (schema + CEL), patches, a Deployment simulator and fault injection. See docs/testing.md.
/// Not sealed only so that <see cref="StandInApiServer"/> (its earlier name) can remain a thin alias.
/// </summary>
public class KubeApiTestServer : IAsyncDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private readonly ReadHandlers reads;
    private readonly WriteHandlers writes;
    private readonly WatchHandler watches;
    private readonly DeploymentSimulator deploymentSimulator;
    private readonly GarbageCollector garbageCollector;
    private readonly ReplicaSetSimulator replicaSetSimulator;
    private readonly ReviewHandlers reviews;
    private readonly List<Task> background = [];
    private CancellationTokenSource connections = new();
    private WebApplication? app;

    protected KubeApiTestServer(KubeApiServerOptions options)
    {
        Options = options;
        Store.HistoryWindow = options.HistoryWindow;
        Faults = new FaultInjector(options.FaultSeed);
        Writer = new ObjectWriter(Store, Registry, Faults, TimeProvider.System, options);
        reads = new ReadHandlers(Store);
        writes = new WriteHandlers(Store, Writer);
        watches = new WatchHandler(Store, Faults, options);
        deploymentSimulator = new DeploymentSimulator(Store, Writer, Registry.Find("apps", "v1", "deployments")!, TimeProvider.System) { Enabled = options.SimulateDeployments };
        garbageCollector = new GarbageCollector(Store, Writer, Registry);
        replicaSetSimulator = new ReplicaSetSimulator(Store, Writer, Registry, TimeProvider.System) { Enabled = options.SimulatePods };
        reviews = new ReviewHandlers(Store);
        if (options.CrdDirectory is not null)
        {
            LoadCrds(options.CrdDirectory);
        }

        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            Writer.Create(Registry.Find("", "v1", "namespaces")!, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } }, new WriteOptions(InjectFaults: false));
        }

        Store.Changed += deploymentSimulator.OnChanged;
        Store.Changed += garbageCollector.OnChanged;
        Store.Changed += replicaSetSimulator.OnChanged;
        background.Add(Task.Run(() => replicaSetSimulator.RunAsync(stopping.Token)));
        background.Add(Task.Run(() => deploymentSimulator.RunAsync(stopping.Token)));
        background.Add(Task.Run(() => garbageCollector.RunAsync(stopping.Token)));
    }

    public KubeApiServerOptions Options { get; }

    /// <summary>TokenReview/SubjectAccessReview/TokenRequest (Auth/ReviewHandlers.cs): issue tokens, count reviews.</summary>
    public ReviewHandlers Reviews => reviews;

    /// <summary>A bearer token the TokenReview API accepts for this user (ServiceAccounts: system:serviceaccount:ns:name).</summary>
    public string IssueToken(string user, IEnumerable<string>? groups = null) => reviews.Issue(user, groups);

    public ObjectStore Store { get; } = new();

    public ResourceRegistry Registry { get; } = new();

    public ObjectWriter Writer { get; }

    public FaultInjector Faults { get; }

    public Uri BaseUri { get; private set; } = new("http://127.0.0.1");

    /// <summary>Share of updates answered 409 Conflict regardless of resourceVersion, 0..1 (seeded, see <see cref="KubeApiServerOptions.FaultSeed"/>).</summary>
    public double ConflictRate
    {
        get => Faults.ConflictRate;
        set => Faults.ConflictRate = value;
    }

    /// <summary>Watch streams currently open (tests wait for a watch to be established before cutting it).</summary>
    public int OpenWatches => watches.Open;

    /// <summary>How many conflicts were injected.</summary>
    public int Conflicts => Faults.InjectedConflicts;

    /// <summary>When false, Deployments stay unready (status not updated) until set back to true.</summary>
    public bool SimulateDeployments
    {
        get => deploymentSimulator.Enabled;
        set => deploymentSimulator.Enabled = value;
    }

    /// <summary>When true, Deployments get ReplicaSets and Pods (Simulators/ReplicaSetSimulator.cs: the real scale-in ranking, a kubelet that makes Pods ready).</summary>
    public bool SimulatePods
    {
        get => replicaSetSimulator.Enabled;
        set => replicaSetSimulator.Enabled = value;
    }

    /// <summary>The ReplicaSet/Pod simulator (pods to hold not ready, the deletion ranking).</summary>
    public ReplicaSetSimulator Pods => replicaSetSimulator;

    public static async Task<KubeApiTestServer> StartAsync(KubeApiServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new KubeApiTestServer(options ?? new KubeApiServerOptions());
        await server.ListenAsync(options?.Port ?? 0, cancellationToken);
        return server;
    }

    public IKubernetes CreateClient() => new Kubernetes(new KubernetesClientConfiguration { Host = BaseUri.ToString() });

    /// <summary>Serves the CRDs in a directory's *.yaml files (as if applied to the cluster).</summary>
    public void LoadCrds(string directory)
    {
        foreach (var crd in CrdSchemaValidator.LoadDirectory(directory).Crds)
        {
            Registry.AddCrd(crd);
        }
    }

    /// <summary>Cuts every open watch connection, as a flaky network does.</summary>
    public void DropWatches() => Faults.DropWatches();

    /// <summary>
    /// Restarts like an apiserver over etcd: stops listening and drops every connection, optionally compacts the
    /// event history (watches resuming from an old resourceVersion get 410 Gone), waits <paramref name="downtime"/>,
    /// then listens on the same port with all objects kept.
    /// </summary>
    public async Task RestartAsync(bool compactHistory = false, TimeSpan? downtime = null, CancellationToken cancellationToken = default)
    {
        await StopListeningAsync();
        if (compactHistory)
        {
            Store.Compact();
        }

        if (downtime is { } wait)
        {
            await Task.Delay(wait, cancellationToken);
        }

        await ListenAsync(BaseUri.Port, cancellationToken);
    }

    protected async Task ListenAsync(int port, CancellationToken cancellationToken)
    {
        connections = new CancellationTokenSource();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var web = builder.Build();
        web.Map("/{**path}", HandleAsync);
        await web.StartAsync(cancellationToken);
        app = web;
        BaseUri = new Uri(web.Urls.First());
    }

    private async Task StopListeningAsync()
    {
        await connections.CancelAsync();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
            app = null;
        }

        connections.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        try
        {
            if (await Discovery.TryHandleAsync(context, Registry) || await reviews.TryHandleAsync(context))
            {
                return;
            }

            var route = Route.Parse(context.Request.Path.Value ?? "") ?? throw NotFoundPath();
            var type = Registry.Find(route.Group, route.Version, route.ResourceName)
                ?? (Options.ServeUnregisteredResources && route.Group.Length > 0 ? Registry.AddAdHoc(route.Group, route.Version, route.ResourceName) : throw NotFoundPath());
            if ((!type.Namespaced && route.Ns is not null) ||
                (route.Subresource is not null && !(route.Subresource == "status" && type.HasStatus) && !(route.Subresource == "scale" && type.Scale is not null) && !(route.Subresource == "finalize" && type.Plural == "namespaces")))
            {
                throw NotFoundPath();
            }

            await DispatchAsync(context, type, route);
        }
        catch (ApiException e) when (!context.Response.HasStarted)
        {
            await HttpIo.WriteJsonAsync(context, e.Code, e.Status);
        }
        catch (Exception e) when (e is not OperationCanceledException && !context.Response.HasStarted)
        {
            await HttpIo.WriteJsonAsync(context, HttpStatusCode.InternalServerError, ApiStatus.Failure(HttpStatusCode.InternalServerError, "InternalError", $"Internal error occurred: {e.Message}"));
        }
    }

    private Task DispatchAsync(HttpContext context, ResourceType type, Route route) => (context.Request.Method, route.Name) switch
    {
        ("GET", null) when HttpIo.QueryFlag(context, "watch") => watches.WatchAsync(context, type, route, connections.Token),
        ("GET", null) => reads.ListAsync(context, type, route),
        ("GET", _) => reads.GetAsync(context, type, route),
        ("POST", null) => writes.CreateAsync(context, type, route),
        ("PUT", not null) => writes.ReplaceAsync(context, type, route),
        ("PATCH", not null) => writes.PatchAsync(context, type, route),
        ("DELETE", null) => writes.DeleteCollectionAsync(context, type, route),
        ("DELETE", _) when route.Subresource is null => writes.DeleteAsync(context, type, route),
        _ => throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource"),
    };

    private static ApiException NotFoundPath() => new(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");

    public async ValueTask DisposeAsync()
    {
        Faults.DropWatchesEvery(null);
        await stopping.CancelAsync();
        await StopListeningAsync();
        await Task.WhenAll(background);
        stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// The earlier name of <see cref="KubeApiTestServer"/>, kept so existing tests compile; by default it serves
/// resources no CRD declares (as the earlier server did).
/// </summary>
public sealed class StandInApiServer : KubeApiTestServer
{
    private StandInApiServer(KubeApiServerOptions options)
        : base(options)
    {
    }

    public static new async Task<StandInApiServer> StartAsync(KubeApiServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new StandInApiServer(options ?? new KubeApiServerOptions { ServeUnregisteredResources = true });
        await server.ListenAsync(options?.Port ?? 0, cancellationToken);
        return server;
    }
}
