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

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            foreach (var address in options.Listen.Append(options.MetricsListen).OfType<string>())
            {
                ListenAddress.TryParse(address, out var endpoint);
                kestrel.Listen(endpoint);
            }
        });
        // Per-request framework logs at Information would cost more than the gateway's own work on every invoke and poll.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        var services = builder.Services;
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new FunctionRegistry(options.Region, options.AccountId));
        services.TryAddSingleton<IInvocationQueue>(sp => new InMemoryInvocationQueue(sp.GetRequiredService<TimeProvider>(), options.SweepInterval));
        services.TryAddSingleton(_ => new DestinationQueues(options.DestinationQueueCapacity));
        services.TryAddSingleton<GatewayMetrics>();
        services.TryAddSingleton<ConcurrencyGate>();
        services.TryAddSingleton<GatewayReadiness>();
        services.TryAddSingleton<AsyncInvocationProcessor>();
        services.TryAddSingleton<InvocationCompletion>();
        services.TryAddSingleton<InvokeEndpoints>();
        services.TryAddSingleton<PullEndpoints>();
        services.TryAddSingleton<IVersionWriter, RegistryVersionWriter>();
        services.AddHostedService<EventAgeReaper>();
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

        app.Use(GuardAsync);
        InvokeEndpoints.Map(app);
        PullEndpoints.Map(app);
        FunctionEndpoints.Map(app);
        LambdaApiEndpoints.Map(app);
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (GatewayReadiness readiness) => readiness.IsReady ? Results.Text("ready") : Results.Text("not ready", statusCode: 503));
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

    /// <summary>Configure + Build + Map in one call.</summary>
    public static WebApplication Build(GatewayOptions options, Action<WebApplicationBuilder>? configure = null, string[]? args = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        configure?.Invoke(builder);
        Configure(builder, options);
        return Map(builder.Build());
    }

    /// <summary>The addresses Kestrel bound (after start), e.g. http://127.0.0.1:41234, in listen order.</summary>
    public static IReadOnlyList<Uri> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.Select(a => new Uri(a)).ToList() ?? [];
}

/// <summary>Readiness of the gateway: ready unless a component (such as the cluster watch) says it is not synced yet.</summary>
public sealed class GatewayReadiness
{
    private volatile bool _ready = true;

    public bool IsReady => _ready;

    public void Set(bool ready) => _ready = ready;
}

internal static partial class GatewayLog
{
    [LoggerMessage(Level = LogLevel.Error, Message = "Request failed path={Path}")]
    public static partial void RequestFailed(ILogger logger, Exception exception, string path);
}
