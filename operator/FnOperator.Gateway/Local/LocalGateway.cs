using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;

namespace FnOperator.Gateway.Local;

/// <summary>
/// The gateway as local mode runs it: the same app as serve mode (<see cref="GatewayApp"/>), with the in-process queue,
/// functions from the manifests, one-line console logs, and the address it actually bound.
/// </summary>
public sealed class LocalGateway : IAsyncDisposable
{
    private readonly WebApplication app;

    private LocalGateway(WebApplication app, Uri address)
    {
        this.app = app;
        ClusterKey = app.Services.GetRequiredService<GatewayOptions>().ClusterKey!;
        var host = address.Host is "0.0.0.0" or "[::]" or "::" ? "127.0.0.1" : address.Host;
        Endpoint = $"http://{host}:{address.Port}";
        Queue = app.Services.GetRequiredService<IInvocationQueue>();
        LoggerFactory = app.Services.GetRequiredService<ILoggerFactory>();
        Completion = app.WaitForShutdownAsync();
    }

    /// <summary>Base URL of the Invoke API, e.g. http://127.0.0.1:9000.</summary>
    public string Endpoint { get; }

    /// <summary>Base URL shims pull work from (the same server).</summary>
    public string SourceUrl => Endpoint;

    public IInvocationQueue Queue { get; }

    /// <summary>This run's cluster key (pull credentials).</summary>
    public byte[] ClusterKey { get; }

    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Completes when the web server stops.</summary>
    public Task Completion { get; }

    public static async Task<LocalGateway> StartAsync(LocalOptions options, FunctionRegistry registry, CancellationToken cancellationToken)
    {
        // A key of this run: each function's shims get their function's pull credential (LocalPullCredentials).
        var gatewayOptions = new GatewayOptions
        {
            Listen = [options.Listen], Region = registry.Region, AccountId = registry.AccountId, JetStream = options.JetStream, ClusterKey = LocalPullCredentials.NewKey(),
        };
        if (options.RetryBaseDelay is { } retry)
        {
            gatewayOptions = gatewayOptions with { RetryBaseDelay = retry };
        }

        var app = GatewayApp.Build(gatewayOptions, builder =>
        {
            builder.Services.AddSingleton(registry);
            builder.Services.AddSingleton<IHostLifetime, OwnerStoppedLifetime>();
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss ";
            });
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
            builder.Logging.AddFilter("System", LogLevel.Warning);
        });

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = GatewayApp.Addresses(app).FirstOrDefault()
            ?? throw new InvalidOperationException($"the gateway did not report a listen address for {options.Listen}");
        return new LocalGateway(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(timeout.Token).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Leaves Ctrl-C and SIGTERM to local mode, which stops the function pools before the gateway.</summary>
internal sealed class OwnerStoppedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
