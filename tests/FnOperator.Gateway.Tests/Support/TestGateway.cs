using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Functions;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FnOperator.Gateway.Tests.Support;

/// <summary>A gateway on Kestrel at 127.0.0.1:&lt;free port&gt; with an HTTP client for it.</summary>
public sealed class TestGateway : IAsyncDisposable
{
    private TestGateway(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        Functions = app.Services.GetRequiredService<FunctionRegistry>();
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public FunctionRegistry Functions { get; }

    /// <summary>Test defaults: short retry delay, short lease margin, quick start-wait.</summary>
    public static GatewayOptions FastOptions => new()
    {
        Listen = ["127.0.0.1:0"],
        RetryBaseDelay = TimeSpan.FromMilliseconds(100),
        TimeoutMargin = TimeSpan.FromMilliseconds(500),
        MaxStartWait = TimeSpan.FromSeconds(30),
        SweepInterval = TimeSpan.FromMilliseconds(50),
    };

    /// <summary>The cluster key of gateways started with <see cref="StartAsync"/> (pull-protocol credentials, lease tokens).</summary>
    public static readonly byte[] ClusterKey = System.Text.Encoding.ASCII.GetBytes("test-cluster-key-0123456789abcdef0123456789");

    public static async Task<TestGateway> StartAsync(GatewayOptions? options = null, TimeProvider? time = null, QueueKind queue = QueueKind.InMemory)
    {
        options ??= FastOptions with { ClusterKey = ClusterKey };
        if (queue == QueueKind.JetStream && options.JetStream is null)
        {
            options = options with { JetStream = (await NatsServer.Shared.ConfigureAwait(false)).Options() };
        }

        var app = GatewayApp.Build(options, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            if (time is not null)
            {
                builder.Services.TryAddSingleton(time);
            }
        });
        await app.StartAsync().ConfigureAwait(false);
        return new TestGateway(app, GatewayApp.Addresses(app)[0]);
    }

    /// <summary>A client for the pull protocol carrying the function version's credential.</summary>
    public HttpClient PullClient(FunctionKey key, string version = FunctionRegistry.Latest)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Add(FnOperator.Contracts.PullProtocol.CredentialHeader, FnOperator.Contracts.PullProtocol.Credential(ClusterKey, key.Namespace, key.Name, version));
        return client;
    }

    public FunctionKey Add(string name, FunctionSpec? spec = null, string ns = FunctionKey.DefaultNamespace)
    {
        var key = new FunctionKey(ns, name);
        Functions.Upsert(key, spec ?? new FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3 });
        return key;
    }

    public static HttpRequestMessage Invoke(string functionName, string payload = "{}", string? type = null, string? qualifier = null)
    {
        var path = $"/2015-03-31/functions/{functionName}/invocations" + (qualifier is null ? "" : $"?Qualifier={Uri.EscapeDataString(qualifier)}");
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(payload) };
        if (type is not null)
        {
            request.Headers.Add("X-Amz-Invocation-Type", type);
        }

        return request;
    }

    /// <summary>Receives (and deletes) up to max messages of a destination queue.</summary>
    public async Task<JsonArray> ReceiveAsync(string queue, int max = 100)
    {
        var body = await Client.GetFromJsonAsync<JsonObject>($"/_fnop/v1/queues/{queue}/messages?max={max}").ConfigureAwait(false);
        return body!["messages"]!.AsArray();
    }

    /// <summary>Polls a destination queue until it holds at least one message (generous timeout for a loaded machine).</summary>
    public async Task<JsonNode> WaitForMessageAsync(string queue, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var messages = await ReceiveAsync(queue, 1).ConfigureAwait(false);
            if (messages.Count > 0)
            {
                return messages[0]!;
            }

            await Task.Delay(50, cts.Token).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
    }
}
