using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway;
using FnOperator.Gateway.Functions;
using FnOperator.KubeApiServer;
using FnOperator.Operator.Autoscaling;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Tests.Autoscaling;

/// <summary>
/// The autoscaler with two real gateway replicas (in-process, in-memory queues, each its own callers and leases)
/// found through the gateway Service's EndpointSlices in the API test server: pushes from either replica, busy pods
/// known to either, replicas coming and going.
/// </summary>
public sealed class GatewayReplicasTests : IAsyncLifetime
{
    private const string GatewayNamespace = "fn-system";
    private const string Service = "fn-gateway";
    private readonly List<WebApplication> gateways = [];
    private OperatorHarness harness = null!;

    public async Task InitializeAsync()
    {
        gateways.Add(await StartGatewayAsync());
        gateways.Add(await StartGatewayAsync());
        harness = await OperatorHarness.StartAsync(
            1,
            settings:
            [
                "--Operator:Autoscaler:PollInterval", "00:00:00.100",
                "--Operator:Autoscaler:IdleOverride", "00:00:01",
                "--Operator:Autoscaler:GatewayService", Service,
                "--Operator:Autoscaler:ReplicaFailureGrace", "00:00:02",
                "--Operator:Autoscaler:PushReconnectDelay", "00:00:00.200",
            ]);
    }

    public async Task DisposeAsync()
    {
        await harness.DisposeAsync();
        foreach (var gateway in gateways)
        {
            await StopAsync(gateway);
        }
    }

    private static async Task<WebApplication> StartGatewayAsync()
    {
        var gateway = GatewayApp.Build(
            new GatewayOptions { Listen = ["127.0.0.1:0"], ClusterKey = TestClusterKey.Key, ProtectQueueInspection = true, MaxStartWait = TimeSpan.FromSeconds(30) },
            b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        await gateway.StartAsync();
        return gateway;
    }

    private static async Task StopAsync(WebApplication gateway)
    {
        try
        {
            await gateway.StopAsync();
            await gateway.DisposeAsync();
        }
        catch (ObjectDisposedException)
        {
            // Stopped by the test already.
        }
    }

    private static Uri Address(WebApplication gateway) => GatewayApp.Addresses(gateway)[0];

    /// <summary>Publishes a replica as the EndpointSlice controller would: one slice per port mapping, here one per replica.</summary>
    private async Task PublishAsync(int replica, bool ready = true)
    {
        var slice = new V1EndpointSlice
        {
            ApiVersion = "discovery.k8s.io/v1",
            Kind = "EndpointSlice",
            Metadata = new V1ObjectMeta
            {
                Name = $"{Service}-{replica}",
                NamespaceProperty = GatewayNamespace,
                Labels = new Dictionary<string, string> { [GatewayEndpointSliceListWatch.ServiceNameLabel] = Service },
            },
            AddressType = "IPv4",
            Endpoints = [new V1Endpoint { Addresses = ["127.0.0.1"], Conditions = new V1EndpointConditions { Ready = ready, Serving = ready, Terminating = !ready } }],
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = Address(gateways[replica]).Port, Protocol = "TCP" }],
        };
        try
        {
            await harness.Client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(slice, GatewayNamespace);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            var current = await harness.Client.DiscoveryV1.ReadNamespacedEndpointSliceAsync(slice.Metadata.Name, GatewayNamespace);
            slice.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
            await harness.Client.DiscoveryV1.ReplaceNamespacedEndpointSliceAsync(slice, slice.Metadata.Name, GatewayNamespace);
        }
    }

    private Task UnpublishAsync(int replica) => harness.Client.DiscoveryV1.DeleteNamespacedEndpointSliceAsync($"{Service}-{replica}", GatewayNamespace);

    private IGatewayReplicas Replicas => harness.Replicas[0].App.Services.GetRequiredService<IGatewayReplicas>();

    private Task WaitReplicasSeenAsync(params int[] replicas) => Eventually.True(
        () => Replicas.Current().Select(u => u.Port).Order().SequenceEqual(replicas.Select(r => Address(gateways[r]).Port).Order()),
        $"the operator sees gateway replicas {string.Join(',', replicas)}", timeoutSeconds: 60);

    /// <summary>Creates the Function and gives every gateway its spec (as their Function watch would).</summary>
    private async Task CreateAsync(string name, int maxReplicas)
    {
        await harness.CreateAsync(TestFunctions.Node(name, change: s =>
        {
            s.Scaling = new ScalingSpec { MaxReplicas = maxReplicas };
            s.TimeoutSeconds = 300;
        }));
        var spec = (await harness.GetAsync(name))!.Spec;
        foreach (var gateway in gateways)
        {
            gateway.Services.GetRequiredService<FunctionRegistry>().Upsert(new FunctionKey("default", name), spec);
        }
    }

    private static async Task EnqueueAsync(WebApplication gateway, string function)
    {
        using var http = new HttpClient { BaseAddress = Address(gateway) };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/2015-03-31/functions/{function}/invocations") { Content = new StringContent("{}") };
        request.Headers.Add("X-Amz-Invocation-Type", "Event");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    /// <summary>A worker (as a shim) leases the next invocation from <paramref name="gateway"/>, naming its pod.</summary>
    private static async Task<Invocation> LeaseAsync(WebApplication gateway, string function, string pod)
    {
        using var http = new HttpClient { BaseAddress = Address(gateway), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Add(PullProtocol.CredentialHeader, PullProtocol.Credential(TestClusterKey.Key, "default", function, "$LATEST"));
        using var request = new HttpRequestMessage(HttpMethod.Get, PullProtocol.NextPath("default", function, "$LATEST") + "?waitMs=30000");
        request.Headers.Add(PullProtocol.InstanceHeader, pod);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Invocation>(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)))!;
    }

    private static async Task CompleteAsync(WebApplication gateway, string function, Invocation invocation, string pod)
    {
        using var http = new HttpClient { BaseAddress = Address(gateway) };
        http.DefaultRequestHeaders.Add(PullProtocol.CredentialHeader, PullProtocol.Credential(TestClusterKey.Key, "default", function, "$LATEST"));
        using var request = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(invocation.RequestId))
        {
            Content = JsonContent.Create(
                new InvocationResult { RequestId = invocation.RequestId, Outcome = InvocationOutcome.Success, Payload = "{}"u8.ToArray(), ExecutedVersion = invocation.Version, DurationMs = 1 },
                options: new(System.Text.Json.JsonSerializerDefaults.Web)),
        };
        request.Headers.Add(PullProtocol.LeaseTokenHeader, invocation.LeaseToken);
        request.Headers.Add(PullProtocol.InstanceHeader, pod);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private async Task<int?> ReplicasOfAsync(string fn) => (await harness.DeploymentAsync(fn))?.Spec.Replicas;

    private Task WaitReplicasAsync(string fn, int replicas) =>
        Eventually.True(async () => await ReplicasOfAsync(fn) == replicas, $"{fn} at {replicas} replicas", timeoutSeconds: 90);

    private List<JsonObject> Pods(string fn) =>
        [.. harness.Server.Store.List("core/pods", "default").Items.Where(p => (string?)p["metadata"]?["labels"]?["fnoperator.io/function"] == fn && p["metadata"]?["deletionTimestamp"] is null)];

    private static string Name(JsonObject pod) => (string)pod["metadata"]!["name"]!;

    [Fact]
    public async Task Work_at_zero_pushed_by_either_replica_reaches_the_autoscaler_and_a_replica_that_appears_is_followed()
    {
        await CreateAsync("on-a", 2);
        await CreateAsync("on-b", 2);
        await PublishAsync(0);
        await WaitReplicasSeenAsync(0);

        // The operator's own push source (discovery from the EndpointSlices, one stream per replica), read by the test.
        var pushes = harness.Replicas[0].App.Services.GetRequiredService<IWorkEventSource>();
        using var stop = new CancellationTokenSource();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<VersionKey>();
        var reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var key in pushes.ReadAsync(stop.Token))
                {
                    seen.Enqueue(key);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        await Eventually.True(() => ((GatewayReplicaWorkEvents)pushes).Streams == 1, "one stream open", timeoutSeconds: 60);
        await WaitReplicasAsync("on-a", 0);
        await WaitReplicasAsync("on-b", 0);
        await Eventually.True(() => PushedAsync(0, "on-a"), "replica A's push", timeoutSeconds: 60);

        // Replica B appears: its stream opens and its work at zero is pushed too.
        await PublishAsync(1);
        await WaitReplicasSeenAsync(0, 1);
        await Eventually.True(() => ((GatewayReplicaWorkEvents)pushes).Streams == 2, "two streams open", timeoutSeconds: 60);
        await Eventually.True(() => PushedAsync(1, "on-b"), "replica B's push", timeoutSeconds: 60);

        // A stream counts from its start, not its connection: work is enqueued until its push comes (each is pushed at zero).
        async Task<bool> PushedAsync(int replica, string function)
        {
            if (!seen.Contains(new VersionKey("default", function, "$LATEST")))
            {
                await EnqueueAsync(gateways[replica], function);
            }

            return seen.Contains(new VersionKey("default", function, "$LATEST"));
        }

        // And the autoscaler scales both from zero (each version's work sits in one replica's queue only).
        await Eventually.True(async () => await ReplicasOfAsync("on-a") >= 1, "on-a scaled from zero", timeoutSeconds: 90);
        await Eventually.True(async () => await ReplicasOfAsync("on-b") >= 1, "on-b scaled from zero", timeoutSeconds: 90);
        await stop.CancelAsync();
        await reader;
    }

    [Fact]
    public async Task Stats_of_both_replicas_are_combined_callers_and_queues_summed_busy_pods_united()
    {
        await PublishAsync(0);
        await PublishAsync(1);
        await WaitReplicasSeenAsync(0, 1);
        await CreateAsync("summed", 5);
        await EnqueueAsync(gateways[0], "summed");
        await EnqueueAsync(gateways[0], "summed");
        await EnqueueAsync(gateways[1], "summed");
        await EnqueueAsync(gateways[1], "summed");
        var leased = await LeaseAsync(gateways[1], "summed", "summed-latest-pod-b");

        var source = harness.Replicas[0].App.Services.GetRequiredService<IScalingInputSource>();
        VersionLoad load = default;
        await Eventually.True(async () =>
        {
            load = (await source.ReadAsync(CancellationToken.None)).GetValueOrDefault(new VersionKey("default", "summed", "$LATEST"));
            return load.Depth == 3;
        }, "depth of both in-memory queues", timeoutSeconds: 60);
        Assert.Equal(1, load.InFlight);
        Assert.Equal(["summed-latest-pod-b"], load.Busy);

        // Five of demand over two replicas' queues: scaled to 5 (one replica's view would give 2 or 3).
        await EnqueueAsync(gateways[0], "summed");
        await WaitReplicasAsync("summed", 5);
        await CompleteAsync(gateways[1], "summed", leased, "summed-latest-pod-b");
    }

    [Fact]
    public async Task Invocations_handed_out_by_each_replica_are_summed_though_none_is_queued_or_in_flight_any_more()
    {
        await PublishAsync(0);
        await PublishAsync(1);
        await WaitReplicasSeenAsync(0, 1);
        await CreateAsync("handed", 5);
        for (var replica = 0; replica < 2; replica++)
        {
            await EnqueueAsync(gateways[replica], "handed");
            var pod = $"handed-latest-pod-{replica}";
            await CompleteAsync(gateways[replica], "handed", await LeaseAsync(gateways[replica], "handed", pod), pod);
        }

        // What a poll sees after two short invocations that came and went: no depth, nothing in flight, two hand-outs.
        var source = harness.Replicas[0].App.Services.GetRequiredService<IScalingInputSource>();
        VersionLoad load = default;
        await Eventually.True(async () =>
        {
            load = (await source.ReadAsync(CancellationToken.None)).GetValueOrDefault(new VersionKey("default", "handed", "$LATEST"));
            return load.HandOuts == 2;
        }, "the hand-outs of both replicas", timeoutSeconds: 60);
        Assert.Equal((0, 0), (load.Depth, load.InFlight));
        Assert.Empty(load.Busy ?? []);
    }

    [Fact]
    public async Task A_pod_busy_on_replica_B_is_never_picked_for_scale_in_even_when_replica_A_sees_it_idle()
    {
        harness.Server.SimulatePods = true;
        await PublishAsync(0);
        await PublishAsync(1);
        await WaitReplicasSeenAsync(0, 1);
        await CreateAsync("split", 3);

        // Three invocations queued at replica A: three pods.
        for (var i = 0; i < 3; i++)
        {
            await EnqueueAsync(gateways[0], "split");
        }

        await Eventually.True(() => Pods("split").Count(ReplicaSetSimulator.IsReady) == 3, "3 pods ready", timeoutSeconds: 90);

        // The pod the ReplicaSet would remove first leases an invocation from replica B: A knows nothing of it.
        var busy = Name(ReplicaSetSimulator.DeletionOrder(Pods("split"))[0]);
        await EnqueueAsync(gateways[1], "split");
        var leased = await LeaseAsync(gateways[1], "split", busy);

        // Lowering maxReplicas forces a scale-in to 1 while work is in flight: the one left must be the busy pod.
        await harness.UpdateAsync("split", s => s.Scaling = new ScalingSpec { MaxReplicas = 1 });
        await WaitReplicasAsync("split", 1);
        await Eventually.True(() => Pods("split").Count == 1, "1 pod left", timeoutSeconds: 90);
        Assert.Equal(busy, Name(Pods("split").Single()));
        Assert.Equal("1000", (string?)Pods("split").Single()["metadata"]!["annotations"]![DeploymentScaler.DeletionCostAnnotation]);
        await CompleteAsync(gateways[1], "split", leased, busy);
    }

    [Fact]
    public async Task A_replica_going_away_does_not_stall_scaling_up_or_back_to_zero()
    {
        await PublishAsync(0);
        await PublishAsync(1);
        await WaitReplicasSeenAsync(0, 1);
        await CreateAsync("survivor", 2);
        await WaitReplicasAsync("survivor", 0);

        // Replica B dies, and its EndpointSlice still lists it as ready (as before its readiness probe fails).
        await StopAsync(gateways[1]);

        // Work at replica A still scales the version from zero...
        await EnqueueAsync(gateways[0], "survivor");
        await WaitReplicasAsync("survivor", 1);

        // ...and once it is done, the version returns to zero: B's grace ends and it is left out.
        var invocation = await LeaseAsync(gateways[0], "survivor", "survivor-latest-pod");
        await CompleteAsync(gateways[0], "survivor", invocation, "survivor-latest-pod");
        await WaitReplicasAsync("survivor", 0);

        // Removing the dead replica from the slices is followed as well; scaling goes on with A alone.
        await UnpublishAsync(1);
        await WaitReplicasSeenAsync(0);
        await EnqueueAsync(gateways[0], "survivor");
        await WaitReplicasAsync("survivor", 1);
    }
}
