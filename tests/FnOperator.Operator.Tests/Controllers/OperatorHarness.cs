using System.Net;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Runtime;
using FnOperator.KubeApiServer;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>The API test server plus operator replicas (the real host, in-process), and helpers to read the world.</summary>
public sealed class OperatorHarness : IAsyncDisposable
{
    private readonly List<Replica> replicas = [];
    private string[] settings = [];
    private Action<IServiceCollection>? services;

    private OperatorHarness(KubeApiTestServer server)
    {
        Server = server;
        Client = server.CreateClient();
    }

    public KubeApiTestServer Server { get; }

    public IKubernetes Client { get; }

    public IReadOnlyList<Replica> Replicas => replicas;

    /// <summary>
    /// Lease settings for tests that assert who leads while two replicas run (only the leader reconciles, the follower
    /// writes nothing, metrics per role). With the default test lease (2 s, renew deadline 1.5 s) a leader stalled for
    /// 1.5 s on a loaded machine rightly steps down and the follower takes over mid-test. A leader that stops releases
    /// the Lease, so a handover still takes one retry period, not a lease duration.
    /// </summary>
    public static readonly string[] StableLease =
        ["--Operator:LeaseDuration", "00:00:15", "--Operator:RenewDeadline", "00:00:10", "--Operator:RetryPeriod", "00:00:00.250"];

    /// <summary>Every request the operator replicas sent to the API server, in order.</summary>
    public RequestLog Requests { get; } = new();

    /// <param name="settings">Extra command-line settings for every replica (later ones win).</param>
    /// <param name="services">Extra registrations for every replica (another kind's controller, a leader worker).</param>
    /// <param name="crds">CRDs created through the API before the replicas start (test kinds).</param>
    public static async Task<OperatorHarness> StartAsync(
        int operators = 1, string[]? settings = null, Action<IServiceCollection>? services = null, IReadOnlyList<V1CustomResourceDefinition>? crds = null)
    {
        // The server serves the committed CRDs, so every Function a test creates passes the real schema and CEL rules.
        var harness = new OperatorHarness(await KubeApiTestServer.StartAsync(new KubeApiServerOptions { CrdDirectory = RepoRoot.Crds }))
        {
            settings = settings ?? [],
            services = services,
        };
        // A sweep for reconcilers that trust their cache too far: FNOP_TEST_WATCH_LAG_MS=500 delivers every watch event
        // that late (docs/testing.md). Off by default: tests that time a watch's own delivery do not expect it.
        if (int.TryParse(Environment.GetEnvironmentVariable("FNOP_TEST_WATCH_LAG_MS"), out var lagMs) && lagMs > 0)
        {
            harness.Server.Faults.SetWatchLag("*", TimeSpan.FromMilliseconds(lagMs));
        }

        foreach (var crd in crds ?? [])
        {
            await harness.Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        }

        for (var i = 0; i < operators; i++)
        {
            await harness.StartReplicaAsync("operator-" + i);
        }

        return harness;
    }

    public async Task<Replica> StartReplicaAsync(string podName)
    {
        var metrics = new OperatorMetrics(Metrics.NewCustomRegistry());
        var app = OperatorApp.Build(
            [
                "--urls", "http://127.0.0.1:0",
                "--Operator:PodName", podName,
                "--Operator:PodNamespace", "fn-system",
                "--Operator:LeaseDuration", "00:00:02",
                "--Operator:RenewDeadline", "00:00:01.500",
                "--Operator:RetryPeriod", "00:00:00.250",
                "--Operator:DependencyRetry", "00:00:01",
                "--Operator:GatewayUrl", "http://gateway.test:8080",
                "--Operator:InvokeBaseUrl", "http://invoke.test",
                "--Logging:LogLevel:Default", Environment.GetEnvironmentVariable("FNOP_TEST_LOG_LEVEL") ?? "Warning",
                .. TestClusterKey.Settings,
                .. settings,
            ],
            registrations =>
            {
                registrations.AddSingleton<IKubernetes>(new k8s.Kubernetes(
                    new KubernetesClientConfiguration { Host = Server.BaseUri.ToString() }, new RecordingHandler(podName, Requests)));
                registrations.AddSingleton(metrics);
                services?.Invoke(registrations);
            });
        await app.StartAsync();
        var replica = new Replica(podName, app, metrics);
        replicas.Add(replica);
        return replica;
    }

    public async Task<Function> CreateAsync(Function fn)
    {
        fn.Metadata.Uid = null;
        fn.Metadata.Generation = null;
        var created = await Client.CustomObjects.CreateNamespacedCustomObjectAsync(fn, ApiGroup.Group, ApiGroup.Version, fn.Metadata.NamespaceProperty, Function.Plural);
        return KubernetesJson.Deserialize<Function>((JsonElement)created);
    }

    public async Task<Function?> GetAsync(string name, string ns = "default")
    {
        try
        {
            var obj = await Client.CustomObjects.GetNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, Function.Plural, name);
            return KubernetesJson.Deserialize<Function>((JsonElement)obj);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Read-modify-write of the spec, retried on 409 like any client.</summary>
    public async Task UpdateAsync(string name, Action<FunctionSpec> change, string ns = "default")
    {
        for (var attempt = 0; ; attempt++)
        {
            var fn = (await GetAsync(name, ns))!;
            change(fn.Spec);
            try
            {
                await Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(fn, ApiGroup.Group, ApiGroup.Version, ns, Function.Plural, name);
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < 20)
            {
            }
        }
    }

    public Task DeleteAsync(string name, string ns = "default") =>
        Client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, ns, Function.Plural, name);

    public async Task<V1Deployment?> DeploymentAsync(string functionName, string ns = "default")
    {
        try
        {
            return await Client.AppsV1.ReadNamespacedDeploymentAsync(functionName + "-latest", ns);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public Task WaitReadyAsync(string name, long generation = 1, string ns = "default") =>
        Eventually.True(async () =>
        {
            var fn = await GetAsync(name, ns);
            return fn is not null && fn.Metadata.Generation == generation && fn.IsReady();
        }, $"{ns}/{name} Ready at generation {generation}");

    /// <summary>The Events about an object (core/v1, as kubectl describe lists them).</summary>
    public async Task<IReadOnlyList<Corev1Event>> EventsAsync(string name, string ns = "default") =>
        [.. (await Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.name={name}")).Items];

    public Task WaitEventAsync(string name, string type, string reason, string ns = "default") =>
        Eventually.True(async () => (await EventsAsync(name, ns)).Any(e => e.Type == type && e.Reason == reason), $"{ns}/{name} Event {type} {reason}");

    public Task WaitConditionAsync(string name, string type, string status, string reason, string ns = "default") =>
        Eventually.True(async () =>
        {
            var condition = (await GetAsync(name, ns))?.Status?.Condition(type);
            return condition?.Status == status && condition.Reason == reason;
        }, $"{ns}/{name} {type}={status} {reason}");

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in replicas)
        {
            await replica.DisposeAsync();
        }

        await Server.DisposeAsync();
        Client.Dispose();
    }

    public sealed class Replica(string name, WebApplication app, OperatorMetrics metrics) : IAsyncDisposable
    {
        private bool stopped;

        public string Name => name;

        public WebApplication App => app;

        public OperatorMetrics Metrics => metrics;

        public ControllerManager Manager => app.Services.GetRequiredService<ControllerManager>();

        public double Reconciles => new[] { "done", "requeue", "error", "terminal" }.Sum(r => metrics.ReconcileCount(Function.KindName, r));

        public string Url => app.Urls.First();

        public async Task StopAsync()
        {
            if (!stopped)
            {
                stopped = true;
                await app.StopAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            await app.DisposeAsync();
        }
    }
}
