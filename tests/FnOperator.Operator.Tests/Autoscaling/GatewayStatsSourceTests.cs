using FnOperator.Contracts;
using FnOperator.Operator.Autoscaling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace FnOperator.Operator.Tests.Autoscaling;

/// <summary>The stats endpoint's JSON shape and its serve-mode guard (Bearer + inspection credential), read by the autoscaler's source.</summary>
public sealed class GatewayStatsSourceTests
{
    private static readonly byte[] Key = "0123456789abcdef0123456789abcdef"u8.ToArray();

    [Fact]
    public async Task Reads_each_versions_load_and_hand_out_count_with_the_inspection_credential()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapGet(PullProtocol.Prefix + "/stats", (HttpRequest request) =>
            request.Headers.Authorization.ToString() != "Bearer " + PullProtocol.InspectionCredential(Key)
                ? Results.StatusCode(StatusCodes.Status401Unauthorized)
                : Results.Json(new
                {
                    versions = new object[]
                    {
                        new { @namespace = "default", name = "hello", version = "$LATEST", depth = 3, inFlight = 2, waitingSync = 1, handOuts = 7L },
                        new { @namespace = "team", name = "hello", version = "4", depth = 0, inFlight = 1, waitingSync = 0 },
                    },
                }));
        await app.StartAsync();
        using var http = new HttpClient();
        var gateway = new Uri(app.Urls.First());

        var loads = await new GatewayStatsSource(http, gateway, Key).ReadAsync(CancellationToken.None);
        Assert.Equal(new VersionLoad(3, 2, 1, [], HandOuts: 7), loads[new VersionKey("default", "hello", "$LATEST")]);
        Assert.Equal(new VersionLoad(0, 1, 0), loads[new VersionKey("team", "hello", "4")]);

        await Assert.ThrowsAsync<HttpRequestException>(() => new GatewayStatsSource(http, gateway, "wrong-key"u8.ToArray()).ReadAsync(CancellationToken.None));
        await app.StopAsync();
    }
}
