using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FnOperator.Gateway.Tests.Local;

namespace FnOperator.Sandbox.Tests;

/// <summary>One local mode with small gateway limits (set through its environment) for the bounds tests.</summary>
public sealed class BoundedGateway : IAsyncLifetime
{
    public const int MaxConnections = 40;
    public const long AsyncPerFunction = 8L << 20;
    public const long SyncPerFunction = 12L << 20;

    /// <summary>The RSS local mode must stay under while callers push past every budget (it idles at ~100-150 MB).</summary>
    public const long RssLimitMb = 400;

    private static readonly Dictionary<string, string> Limits = new()
    {
        ["FNOP_GATEWAY_MAX_CONNECTIONS"] = MaxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["FNOP_GATEWAY_ASYNC_BYTES_PER_FUNCTION"] = AsyncPerFunction.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["FNOP_GATEWAY_ASYNC_BYTES"] = (2 * AsyncPerFunction).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["FNOP_GATEWAY_SYNC_BYTES_PER_FUNCTION"] = SyncPerFunction.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["FNOP_GATEWAY_SYNC_BYTES"] = (2 * SyncPerFunction).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private readonly TempManifests manifests = new();

    public LocalModeProcess Local { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        HostileFunction.WriteManifest(manifests, "queued", timeoutSeconds: 120, extraSpec: "concurrency:\n  reserved: 1");
        HostileFunction.WriteManifest(manifests, "held", timeoutSeconds: 120, extraSpec: "scaling:\n  maxReplicas: 1");
        HostileFunction.WriteManifest(manifests, "quick");
        foreach (var (name, value) in Limits)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        try
        {
            Local = await LocalModeProcess.StartAsync(manifests.Root);
        }
        finally
        {
            foreach (var name in Limits.Keys)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }

    public async Task DisposeAsync()
    {
        await Local.DisposeAsync();
        manifests.Dispose();
    }
}

/// <summary>The gateway stays bounded: connection cap, async and sync byte budgets (429), client context limit (400).</summary>
[Collection(LocalModeCollection.Name)]
public sealed class GatewayBoundsTests(BoundedGateway gateway) : IClassFixture<BoundedGateway>
{
    [Fact]
    public async Task Gateway_survives_twice_its_connection_cap_and_keeps_answering()
    {
        var local = gateway.Local;
        using var before = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        Assert.True((await before.PostAsync(LocalModeSandboxTests.InvokeUrl(local, "quick"), LocalModeSandboxTests.Json(new { action = "pid" }))).IsSuccessStatusCode);
        var endpoint = new Uri(local.Endpoint);
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 2 * BoundedGateway.MaxConnections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Parse(endpoint.Host), endpoint.Port);
                idle.Add(socket);
            }

            // The connection opened before the flood is still served while the cap refuses the surplus.
            using var during = await before.PostAsync(LocalModeSandboxTests.InvokeUrl(local, "quick"), LocalModeSandboxTests.Json(new { action = "pid" }));
            Assert.Equal(HttpStatusCode.OK, during.StatusCode);
            Assert.False(local.HasExited);

            // The cap is real: a new connection past it is closed without an answer (without a cap it would be served).
            using var fresh = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => fresh.PostAsync(LocalModeSandboxTests.InvokeUrl(local, "quick"), LocalModeSandboxTests.Json(new { action = "pid" })));
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }

        // Once the idle connections are gone, new callers get in again.
        var answered = await Procs.EventuallyAsync(() =>
        {
            using var after = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            try
            {
                using var response = after.PostAsync(LocalModeSandboxTests.InvokeUrl(local, "quick"), LocalModeSandboxTests.Json(new { action = "pid" })).GetAwaiter().GetResult();
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60));
        Assert.True(answered);
        Assert.True(Procs.RssMb(local.ProcessId) < BoundedGateway.RssLimitMb, $"local mode at {Procs.RssMb(local.ProcessId)} MB");
    }

    [Fact]
    public async Task Async_byte_budget_answers_429_and_the_gateway_stays_under_its_rss()
    {
        var local = gateway.Local;
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var payload = JsonSerializer.Serialize(new { action = "sleep", ms = 60_000, pad = new string('x', 1_000_000) });
        var statuses = new List<HttpStatusCode>();
        string? throttled = null;
        for (var i = 0; i < 40; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, LocalModeSandboxTests.InvokeUrl(local, "queued")) { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
            request.Headers.Add("X-Amz-Invocation-Type", "Event");
            using var response = await client.SendAsync(request);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                throttled ??= await response.Content.ReadAsStringAsync() + " " + string.Join(',', response.Headers.GetValues("x-amzn-ErrorType"));
            }
        }

        var accepted = statuses.Count(s => s == HttpStatusCode.Accepted);
        Assert.InRange(accepted, 1, (int)(BoundedGateway.AsyncPerFunction / 1_000_000) + 1);
        Assert.Equal(40 - accepted, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.Contains("TooManyRequestsException", throttled);
        Assert.True(Procs.RssMb(local.ProcessId) < BoundedGateway.RssLimitMb, $"local mode at {Procs.RssMb(local.ProcessId)} MB");
    }

    [Fact]
    public async Task Sync_byte_budget_answers_429_and_the_gateway_stays_under_its_rss()
    {
        var local = gateway.Local;
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(3) };
        var payload = JsonSerializer.Serialize(new { action = "sleep", ms = 20_000, pad = new string('x', 3 << 20) });
        using var cancel = new CancellationTokenSource();
        var calls = Enumerable.Range(0, 10).Select(async _ =>
        {
            try
            {
                using var response = await client.PostAsync(LocalModeSandboxTests.InvokeUrl(local, "held"), new StringContent(payload, Encoding.UTF8, "application/json"), cancel.Token);
                return (response.StatusCode, await response.Content.ReadAsStringAsync());
            }
            catch (OperationCanceledException)
            {
                return (HttpStatusCode.RequestTimeout, "");
            }
        }).ToList();

        // The surplus over 12 MB of held 3 MB bodies is refused at once; the held ones are let go afterwards.
        Assert.True(await Procs.EventuallyAsync(() => calls.Count(c => c.IsCompleted) >= 6, TimeSpan.FromSeconds(60)));
        var refused = calls.Where(c => c.IsCompleted).Select(c => c.Result).ToList();
        Assert.All(refused, r => Assert.Equal(HttpStatusCode.TooManyRequests, r.Item1));
        Assert.All(refused, r => Assert.Contains("\"Reason\"", r.Item2));
        Assert.True(Procs.RssMb(local.ProcessId) < BoundedGateway.RssLimitMb, $"local mode at {Procs.RssMb(local.ProcessId)} MB");
        await cancel.CancelAsync();
        await Task.WhenAll(calls);
    }

    [Fact]
    public async Task Client_context_over_3583_bytes_is_refused_with_400()
    {
        var local = gateway.Local;
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };

        using var fits = await InvokeWithContextAsync(client, local, ClientContext(3580));
        using var tooLong = await InvokeWithContextAsync(client, local, ClientContext(3584));

        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("InvalidParameterValueException", tooLong.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Contains("3583", await tooLong.Content.ReadAsStringAsync());
    }

    private static Task<HttpResponseMessage> InvokeWithContextAsync(HttpClient client, LocalModeProcess local, string context)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, LocalModeSandboxTests.InvokeUrl(local, "quick")) { Content = LocalModeSandboxTests.Json(new { action = "pid" }) };
        request.Headers.Add("X-Amz-Client-Context", context);
        return client.SendAsync(request);
    }

    /// <summary>Base64 of a JSON client context, exactly <paramref name="base64Length"/> characters (a multiple of 4).</summary>
    private static string ClientContext(int base64Length)
    {
        var jsonLength = base64Length / 4 * 3;
        var prefix = "{\"custom\":{\"k\":\"";
        var json = prefix + new string('v', jsonLength - prefix.Length - 3) + "\"}}";
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(json));
        Assert.Equal(base64Length, encoded.Length);
        return encoded;
    }
}
