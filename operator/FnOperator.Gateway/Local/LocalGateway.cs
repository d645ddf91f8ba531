using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
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
    private int stopped;

    private LocalGateway(WebApplication app, Uri address)
    {
        this.app = app;
        ClusterKey = app.Services.GetRequiredService<GatewayOptions>().ClusterKey!;
        var host = address.Host is "0.0.0.0" or "[::]" or "::" ? "127.0.0.1" : address.Host;
        Endpoint = $"http://{host}:{address.Port}";
        Queue = app.Services.GetRequiredService<IInvocationQueue>();
        LoggerFactory = app.Services.GetRequiredService<ILoggerFactory>();
        PullCore = app.Services.GetRequiredService<Api.PullCore>();
        Streams = app.Services.GetRequiredService<Streaming.ResponseStreams>();
        Completion = app.WaitForShutdownAsync();
    }

    /// <summary>Local mode's Function URL domain: http://{function}.{namespace}.localhost:{port}/ (curl and browsers resolve *.localhost to loopback).</summary>
    public const string UrlDomain = "localhost";

    /// <summary>Base URL of the Invoke API, e.g. http://127.0.0.1:9000.</summary>
    public string Endpoint { get; }

    /// <summary>Base URL shims pull work from (the same server).</summary>
    public string SourceUrl => Endpoint;

    public IInvocationQueue Queue { get; }

    /// <summary>This run's cluster key (pull credentials).</summary>
    public byte[] ClusterKey { get; }

    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The pull protocol's hand-out/complete/release core, for in-process instances.</summary>
    public Api.PullCore PullCore { get; }

    /// <summary>Callers waiting for streamed responses, for in-process instances.</summary>
    public Streaming.ResponseStreams Streams { get; }

    /// <summary>Completes when the web server stops.</summary>
    public Task Completion { get; }

    public static async Task<LocalGateway> StartAsync(LocalOptions options, FunctionRegistry registry, CancellationToken cancellationToken, Api.IVersionWriter? versions = null)
    {
        // A key of this run: each function's shims get their function's pull credential (LocalPullCredentials).
        var gatewayOptions = new GatewayOptions
        {
            Listen = [options.Listen], Region = registry.Region, AccountId = registry.AccountId, JetStream = options.JetStream, ClusterKey = LocalPullCredentials.NewKey(),
            Auth = options.Auth, UrlDomain = UrlDomain, UrlForEveryFunction = true, InlineIo = InlineIo.Enabled,
        };
        if (options.RetryBaseDelay is { } retry)
        {
            gatewayOptions = gatewayOptions with { RetryBaseDelay = retry };
        }

        ProbeListen(options.Listen);
        var app = GatewayApp.Build(gatewayOptions, builder =>
        {
            builder.Services.AddSingleton(registry);
            if (versions is not null)
            {
                builder.Services.AddSingleton(versions);
            }
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

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is AddressInUseException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new ListenAddressInUseException(options.Listen, e);
        }

        var address = GatewayApp.Addresses(app).FirstOrDefault()
            ?? throw new InvalidOperationException($"the gateway did not report a listen address for {options.Listen}");
        return new LocalGateway(app, address);
    }

    /// <summary>
    /// Binds the listen address once before the web host starts, so a taken or impossible address is one clear line
    /// (the host would log its start failure with a stack trace). Kestrel's own bind failure is still caught after this.
    /// </summary>
    private static void ProbeListen(string listen)
    {
        if (!ListenAddress.TryParse(listen, out var endpoint) || endpoint.Port == 0)
        {
            return;
        }

        try
        {
            using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(endpoint);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new ListenAddressInUseException(listen, e);
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    /// <summary>Stops the web server, giving open requests up to <paramref name="grace"/> (zero: close them now).</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (Interlocked.Exchange(ref stopped, 1) == 1)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(grace);
        await app.StopAsync(timeout.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Leaves Ctrl-C and SIGTERM to local mode, which stops the function pools before the gateway.</summary>
internal sealed class OwnerStoppedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The listen address is taken; the message is the one line local mode prints.</summary>
public sealed class ListenAddressInUseException(string listen, Exception inner) : IOException(Describe(listen), inner)
{
    private static string Describe(string listen)
    {
        var other = ListenAddress.TryParse(listen, out var endpoint) && endpoint.Port is > 0 and < 65535
            ? $"{listen[..listen.LastIndexOf(':')]}:{endpoint.Port + 1}"
            : "127.0.0.1:9100";
        return $"local: cannot listen on {listen}: the address is already in use (another local mode or program holds it); " +
            $"choose another with make run LISTEN={other} (or --listen {other})";
    }
}
