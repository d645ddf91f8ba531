using System.Net;
using FnOperator.Contracts;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Console;
using Prometheus;

namespace FnOperator.RuntimeShim;

/// <summary>
/// Assembles the shim: the Runtime API (loopback) with the worker and supervisor, and a second listener for /healthz,
/// /readyz and /metrics. Usable in-process (benchmarks) with any <see cref="IInvocationSource"/>.
/// </summary>
public sealed partial class ShimHost : IAsyncDisposable
{
    private readonly WebApplication _api;
    private readonly WebApplication _http;
    private readonly CancellationTokenSource _stopping = new();
    private Task _worker = Task.CompletedTask;
    private Task _parentGone = new TaskCompletionSource().Task;

    /// <summary>
    /// No appsettings.json reload: its watcher watches the working directory tree (the shim inherits it; in `make run` the
    /// repository, written by every build) and woke every shim for each file written there (issue #19 profile).
    /// </summary>
    private static readonly string[] NoConfigReload = ["--hostBuilder:reloadConfigOnChange=false"];

    private ShimHost(WebApplication api, WebApplication http)
    {
        _api = api;
        _http = http;
    }

    public string RuntimeApiAddress { get; private set; } = "";

    public string HttpAddress { get; private set; } = "";

    /// <summary>Builds the shim; <paramref name="source"/> replaces the HTTP pull client (FNOP_SOURCE_URL) when given.</summary>
    public static ShimHost Create(ShimOptions options, IInvocationSource? source = null, LogLevel minimumLevel = LogLevel.Information, TextWriter? output = null)
    {
        if (source is null && options.SourceUrl is null)
        {
            throw new ShimConfigurationException("Invalid runtime-shim configuration: FNOP_SOURCE_URL is required.");
        }

        // /metrics serves the shim's own counters and the process metrics; prometheus-net's default EventCounter and Meter
        // listeners would wake an idle shim every second (issue #19: an idle warm instance costs ≤ 0.01 cores).
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressProcessMetrics = false, SuppressDebugMetrics = true, SuppressEventCounters = true, SuppressMeters = true,
        });
        var builder = WebApplication.CreateSlimBuilder(NoConfigReload);
        ConfigureLogging(builder, minimumLevel);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.RuntimeApiEndpoint);
            k.Limits.MaxRequestBodySize = null;
            k.AddServerHeader = false;
        });
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(new LogSink(output ?? Console.Out));
        services.AddSingleton<InvocationSlot>();
        services.AddSingleton<MemorySampler>();
        services.AddSingleton<RuntimeSupervisor>();
        services.AddSingleton<InvocationRunner>();
        if (source is not null)
        {
            services.AddSingleton(source);
        }
        else
        {
            services.AddHttpClient<IInvocationSource, PullInvocationSource>(c =>
            {
                c.BaseAddress = options.SourceUrl;
                c.Timeout = Timeout.InfiniteTimeSpan;
            });
        }

        services.AddSingleton<ShimWorker>();
        var api = builder.Build();
        RuntimeApi.Map(api, options, api.Services.GetRequiredService<InvocationSlot>(), api.Services.GetRequiredService<RuntimeSupervisor>());

        var httpBuilder = WebApplication.CreateSlimBuilder(NoConfigReload);
        ConfigureLogging(httpBuilder, minimumLevel);
        httpBuilder.WebHost.ConfigureKestrel(k => k.Listen(options.HttpEndpoint));
        httpBuilder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();
        var http = httpBuilder.Build();
        var supervisor = api.Services.GetRequiredService<RuntimeSupervisor>();
        var lifetime = api.Services.GetRequiredService<IHostApplicationLifetime>();
        http.MapGet("/healthz", () => Results.Text("ok"));
        http.MapGet("/readyz", () => !lifetime.ApplicationStopping.IsCancellationRequested && supervisor.IsHealthy
            ? Results.Text("ready")
            : Results.Text("not ready", statusCode: 503));
        http.MapMetrics("/metrics");
        return new ShimHost(api, http);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _api.StartAsync(cancellationToken).ConfigureAwait(false);
        await _http.StartAsync(cancellationToken).ConfigureAwait(false);
        RuntimeApiAddress = BoundAddress(_api);
        HttpAddress = BoundAddress(_http);
        _worker = _api.Services.GetRequiredService<ShimWorker>().RunAsync(RuntimeApiAddress, _stopping.Token);
        if (_api.Services.GetRequiredService<ShimOptions>().ParentPid is { } parent)
        {
            _parentGone = ParentWatch.WaitForExitAsync(parent, TimeProvider.System, _stopping.Token);
        }
    }

    /// <summary>
    /// Waits until SIGTERM/SIGINT, the source closed or the watched parent (FNOP_PARENT_PID) is gone, drains the
    /// in-flight invocation (bounded by <see cref="ParentWatch.DrainLimit"/> when the parent is gone), then stops the listeners.
    /// </summary>
    public async Task WaitForShutdownAsync()
    {
        var signalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lifetime = _api.Services.GetRequiredService<IHostApplicationLifetime>();
        await using (lifetime.ApplicationStopping.Register(() => signalled.TrySetResult()))
        {
            await Task.WhenAny(signalled.Task, _worker, _parentGone).ConfigureAwait(false);
        }

        if (_parentGone.IsCompletedSuccessfully && !signalled.Task.IsCompleted && !_worker.IsCompleted)
        {
            LogParentGone(_api.Services.GetRequiredService<ILogger<ShimHost>>(), _api.Services.GetRequiredService<ShimOptions>().ParentPid ?? 0);
            await StopAsync(ParentWatch.DrainLimit).ConfigureAwait(false);
            return;
        }

        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Stops pulling, lets the in-flight invocation finish and the runtime stop, then stops both listeners. With
    /// <paramref name="drainLimit"/>, an invocation still running after it is ended by killing the runtime, and the
    /// listeners stop at the latest one more <paramref name="drainLimit"/> later (its result has nowhere to go).
    /// </summary>
    public async Task StopAsync(TimeSpan? drainLimit = null)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (drainLimit is not { } limit)
        {
            await _worker.ConfigureAwait(false);
        }
        else if (await Task.WhenAny(_worker, Task.Delay(limit)).ConfigureAwait(false) != _worker)
        {
            await _api.Services.GetRequiredService<RuntimeSupervisor>().StopAsync().ConfigureAwait(false);
            await Task.WhenAny(_worker, Task.Delay(limit)).ConfigureAwait(false);
        }

        await _api.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _http.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync().ConfigureAwait(false);
        await _http.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static void ConfigureLogging(WebApplicationBuilder builder, LogLevel minimumLevel)
    {
        // stdout carries the function's log stream (runtime output, START/END/REPORT); the shim's own logs go to stderr.
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.FormatterName = ShimLogFormatter.FormatterName);
        // The formatter registered by hand: AddConsoleFormatter<,> binds its options by reflection (not trimmable, AOT).
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ConsoleFormatter, ShimLogFormatter>());
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(minimumLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
    }

    private static string BoundAddress(WebApplication app)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var uri = new Uri(address.Replace("[::]", "0.0.0.0", StringComparison.Ordinal));
        return $"{uri.Host}:{uri.Port}";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Parent process {Pid} (FNOP_PARENT_PID) is gone; stopping")]
    private static partial void LogParentGone(ILogger logger, int pid);

    /// <summary>The health listener outlives SIGTERM until the Runtime API side has drained.</summary>
    private sealed class NoSignalLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
