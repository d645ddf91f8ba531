using System.Net;
using System.Net.Http.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Tests.Support;
using FnOperator.Operator.Autoscaling;

namespace FnOperator.Gateway.Tests;

/// <summary>
/// The busy signal of drain-aware scale-in: workers name their instance on pull requests (as the shim does with its pod
/// name, <see cref="PullProtocol.InstanceHeader"/>); the stats endpoint lists the instances holding a lease, read by
/// the operator's own <see cref="GatewayStatsSource"/>.
/// </summary>
public sealed class InstanceLeasesTests
{
    [Fact]
    public async Task Stats_name_the_instances_holding_a_lease_until_their_result_comes_back()
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, ProtectQueueInspection = true });
        var key = gateway.Add("leased", new FnOperator.Api.FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 300 });
        using var http = new HttpClient();
        var source = new GatewayStatsSource(http, gateway.BaseAddress, TestGateway.ClusterKey);
        for (var i = 0; i < 3; i++)
        {
            using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("leased", "{}", "Event"));
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        async Task<Invocation> PullAsync(string? instance)
        {
            using var pull = gateway.PullClient(key);
            using var request = new HttpRequestMessage(HttpMethod.Get, PullProtocol.NextPath("default", "leased", "$LATEST") + "?waitMs=30000");
            if (instance is not null)
            {
                request.Headers.Add(PullProtocol.InstanceHeader, instance);
            }

            using var response = await pull.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<Invocation>(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)))!;
        }

        var a = await PullAsync("leased-latest-7d9f-abcde");
        var b = await PullAsync("leased-latest-7d9f-fghij");
        var anonymous = await PullAsync(null);
        var load = (await source.ReadAsync(CancellationToken.None))[new VersionKey("default", "leased", "$LATEST")];
        Assert.Equal(3, load.InFlight);
        Assert.Equal(["leased-latest-7d9f-abcde", "leased-latest-7d9f-fghij"], load.Busy);

        using (var pull = gateway.PullClient(key))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(a.RequestId)) { Content = JsonContent.Create(TestWorker.Ok(a, "{}"), options: new(System.Text.Json.JsonSerializerDefaults.Web)) };
            request.Headers.Add(PullProtocol.LeaseTokenHeader, a.LeaseToken);
            request.Headers.Add(PullProtocol.InstanceHeader, "leased-latest-7d9f-abcde");
            using var response = await pull.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        using (var pull = gateway.PullClient(key))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ReleasePath(b.RequestId));
            request.Headers.Add(PullProtocol.LeaseTokenHeader, b.LeaseToken);
            using var response = await pull.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        load = (await source.ReadAsync(CancellationToken.None))[new VersionKey("default", "leased", "$LATEST")];
        Assert.Empty(load.Busy ?? []);
        _ = anonymous;
    }
}
