using FnOperator.Gateway.Api;
using FnOperator.Gateway.Async;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Metrics;
using FnOperator.Gateway.Queue;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FnOperator.Gateway;

/// <summary>
/// Composes the gateway: serve mode, local mode and tests build the same app. Register a <see cref="TimeProvider"/>,
/// <see cref="FunctionRegistry"/> or <see cref="IInvocationQueue"/> before <see cref="Configure"/> to replace the defaults.
/// </summary>
public static class GatewayApp
{
    public static void Configure(WebApplicationBuilder builder, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid gateway options: {string.Join("; ", errors)}", nameof(options));
        }

        if (options.InlineIo)
        {
            builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;

            // A connection cap (docs/gateway.md "Limits"): past it Kestrel closes new connections at accept and keeps serving.
            var limits = kestrel.ApplicationServices.GetRequiredService<GatewayLimits>();
            kestrel.Limits.MaxConcurrentConnections = limits.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = limits.MaxConnections;
            foreach (var address in options.Listen.Append(options.MetricsListen).OfType<string>())
            {
                ListenAddress.TryParse(address, out var endpoint);
                kestrel.Listen(endpoint);
            }
        });
        // Per-request framework logs at Information would cost more than the gateway's own work on every invoke and poll.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // Hosting's request diagnostics: with any level enabled for this category it starts an Activity and a log scope per
        // request (issue #19: 2-4 % of the gateway's samples at c=1); it logs nothing above Information itself (failed
        // requests are Kestrel's lines, Microsoft.AspNetCore.Server.Kestrel, still at Warning). As the shim does.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        var services = builder.Services;
        services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new FunctionRegistry(options.Region, options.AccountId));
        if (options.JetStream is { } jetStream)
        {
            services.TryAddSingleton<IInvocationQueue>(sp => new Queue.JetStream.JetStreamInvocationQueue(jetStream, options.ClusterKey,
                key => sp.GetRequiredService<AsyncInvocationProcessor>().AckWait(key), options.MaxStartWait,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Queue.JetStream.JetStreamInvocationQueue>>()));
            // Started before Kestrel (hosted services start in order, the server last), stopped after it.
            services.AddHostedService(sp => (Queue.JetStream.JetStreamInvocationQueue)sp.GetRequiredService<IInvocationQueue>());
            // Destination queues and DLQs on the same connection, durable and shared by the replicas (docs/gateway.md "Destinations").
            services.TryAddSingleton<IDestinationQueues>(sp => new Queue.JetStream.JetStreamDestinations(
                (Queue.JetStream.JetStreamInvocationQueue)sp.GetRequiredService<IInvocationQueue>(), jetStream, options.DestinationQueueCapacity,
                sp.GetRequiredService<ILogger<Queue.JetStream.JetStreamDestinations>>()));
        }
        else
        {
            services.TryAddSingleton<IInvocationQueue>(sp => new InMemoryInvocationQueue(sp.GetRequiredService<TimeProvider>(), options.SweepInterval));
        }

        services.TryAddSingleton<IDestinationQueues>(_ => new DestinationQueues(options.DestinationQueueCapacity));
        services.TryAddSingleton<GatewayMetrics>();
        services.TryAddSingleton<ConcurrencyGate>();
        services.TryAddSingleton(_ => GatewayLimits.FromEnvironment(Environment.GetEnvironmentVariables()));
        services.TryAddSingleton<AdmissionBudget>();
        services.TryAddSingleton<GatewayReadiness>();
        services.TryAddSingleton<AsyncInvocationProcessor>();
        services.TryAddSingleton<InvocationCompletion>();
        services.TryAddSingleton<InvokeEndpoints>();
        services.TryAddSingleton<PullEndpoints>();
        services.TryAddSingleton<PullCore>();
        // Read now, so a bad FNOP_GATEWAY_STREAM_URL stops the gateway at start with its message.
        services.TryAddSingleton(Streaming.StreamingOptions.FromEnvironment());
        services.TryAddSingleton<Streaming.ResponseStreams>();
        services.TryAddSingleton<Streaming.StreamReceiveEndpoint>();
        services.TryAddSingleton<StreamingInvokeEndpoints>();
        services.TryAddSingleton<Streaming.IStreamingUrlResponder, Streaming.StreamingUrlResponder>();
        services.TryAddSingleton<InstanceLeases>();
        services.TryAddSingleton<Metrics.ColdStartTracker>();
        services.TryAddSingleton<IVersionWriter, RegistryVersionWriter>();
        services.TryAddSingleton<Urls.UrlAuth>();
        services.TryAddSingleton<Urls.UrlEndpoint>();
        services.AddHostedService<EventAgeReaper>();
        Auth.InvokeAuth.AddServices(services, options.Auth);
    }

    public static WebApplication Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var functions = app.Services.GetRequiredService<FunctionRegistry>();
        var queue = app.Services.GetRequiredService<IInvocationQueue>();
        void ApplyLimit(FunctionKey key) =>
            queue.SetConcurrencyLimit(key, functions.TryGet(key, out var spec) ? spec.Concurrency?.Reserved : null);
        functions.Changed += ApplyLimit;
        foreach (var (key, _) in functions.All)
        {
            ApplyLimit(key);
        }

        if (queue is Queue.JetStream.JetStreamInvocationQueue jetStream)
        {
            // A stopping replica stops leasing at once (pending long-polls answer 204); what it handed out stays completable by any replica.
            app.Lifetime.ApplicationStopping.Register(jetStream.StopLeasing);
        }

        app.Use(GuardAsync);
        // Function URLs ahead of invoke auth: NONE URLs are public, AWS_IAM URLs check their signature themselves.
        app.Use(app.Services.GetRequiredService<Urls.UrlEndpoint>().InvokeAsync);
        Auth.InvokeAuth.Use(app, app.Services.GetRequiredService<GatewayOptions>().Auth);
        app.Use(QueueInspectionGuard(app.Services.GetRequiredService<GatewayOptions>()));
        InvokeEndpoints.Map(app);
        PullEndpoints.Map(app);
        StreamingInvokeEndpoints.Map(app);
        QueueStatsEndpoint.Map(app);
        WorkEventsEndpoint.Map(app);
        FunctionEndpoints.Map(app);
        LambdaApiEndpoints.Map(app);
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (GatewayReadiness readiness) => readiness.IsReady && queue is not Queue.JetStream.JetStreamInvocationQueue { Connected: false }
            ? Results.Text("ready")
            : Results.Text("not ready", statusCode: 503));
        app.MapGet("/metrics", (HttpContext context, GatewayMetrics metrics) => metrics.WriteAsync(context));
        return app;
    }

    /// <summary>Turns an unexpected failure into Lambda's 500 ServiceException instead of a bare 500 (the process keeps serving).</summary>
    private static async Task GuardAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested && ex is not BadHttpRequestException)
        {
            GatewayLog.RequestFailed(context.RequestServices.GetRequiredService<ILogger<GatewayReadiness>>(), ex, context.Request.Path);
            context.Response.Clear();
            await LambdaErrors.Service("The gateway failed to process the request.").ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// With <see cref="GatewayOptions.ProtectQueueInspection"/>, <c>/_fnop/v1/queues…</c> needs <c>Authorization: Bearer</c> +
    /// the inspection credential. Any other request goes straight on, with no async frame of its own (issue #19).
    /// </summary>
    private static Func<HttpContext, RequestDelegate, Task> QueueInspectionGuard(GatewayOptions options) => (context, next) =>
    {
        if (options is { ProtectQueueInspection: true, ClusterKey: { } key }
            && (context.Request.Path.StartsWithSegments(FnOperator.Contracts.PullProtocol.Prefix + "/queues", StringComparison.Ordinal)
                || context.Request.Path.StartsWithSegments(QueueStatsEndpoint.Path, StringComparison.Ordinal)
                || context.Request.Path.StartsWithSegments(WorkEventsEndpoint.Path, StringComparison.Ordinal)))
        {
            string? header = context.Request.Headers.Authorization;
            var presented = header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header[7..].Trim() : null;
            if (presented is null
                || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                    System.Text.Encoding.ASCII.GetBytes(FnOperator.Contracts.PullProtocol.InspectionCredential(key)), System.Text.Encoding.ASCII.GetBytes(presented)))
            {
                return LambdaErrors.Error(presented is null ? 401 : 403, presented is null ? "UnauthorizedException" : "AccessDeniedException",
                    "The queue-inspection endpoints need Authorization: Bearer <inspection credential> (docs/security.md).").ExecuteAsync(context);
            }
        }

        return next(context);
    };

    /// <summary>Configure + Build + Map in one call.</summary>
    public static WebApplication Build(GatewayOptions options, Action<WebApplicationBuilder>? configure = null, string[]? args = null)
    {
        // No appsettings.json reload: its watcher watches the working directory tree (in `make run` the repository, written
        // by every build) and costs a wake-up per file written there (issue #19 profile); the caller's args may say otherwise.
        var builder = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args ?? []]);
        configure?.Invoke(builder);
        Configure(builder, options);
        return Map(builder.Build());
    }

    /// <summary>The addresses Kestrel bound (after start), e.g. http://127.0.0.1:41234, in listen order.</summary>
    public static IReadOnlyList<Uri> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.Select(a => new Uri(a)).ToList() ?? [];
}

/// <summary>
/// Readiness of the gateway: ready unless a component (the Function watch, the version/alias watch) says it is not
/// synced yet. Each component sets its own state; the gateway is ready when all are.
/// </summary>
public sealed class GatewayReadiness
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _components = new(StringComparer.Ordinal);

    public bool IsReady => _components.Values.All(ready => ready);

    /// <summary>The Function watch's state.</summary>
    public void Set(bool ready) => Set("functions", ready);

    public void Set(string component, bool ready) => _components[component] = ready;
}

internal static partial class GatewayLog
{
    [LoggerMessage(Level = LogLevel.Error, Message = "Request failed path={Path}")]
    public static partial void RequestFailed(ILogger logger, Exception exception, string path);
}
