using System.Collections;
using System.Net;
using System.Net.Sockets;
using FnOperator.Contracts;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Console;

namespace FnOperator.RuntimeShim;

/// <summary>
/// Assembles the shim: one web host (one DI container) with the worker and supervisor, two listeners, the Runtime API
/// (loopback; the shim's own HTTP/1.1 server, <see cref="RuntimeApiServer"/>, or with FNOP_RUNTIME_API_SERVER=kestrel a
/// second Kestrel listener) and /healthz, /readyz, /metrics on the HTTP address (Kestrel); each listener serves only its
/// own routes. Usable in-process (benchmarks; local mode's in-process instances, with <see cref="ShimHosting"/>) with any
/// <see cref="IInvocationSource"/>.
/// </summary>
/// <remarks>
/// Built for a lean cold start (issue #11, docs/runtime-shim.md): an empty host builder (no configuration files, no
/// content-root scanning or file watching, no environment-variable configuration), Kestrel and routing without their
/// optional parts, a plain <see cref="HttpClient"/> for the pull source, and both sockets bound before the host is built,
/// so the runtime starts and the first pull goes out while Kestrel starts (a runtime connecting early waits in the
/// listen backlog). The runtime itself is launched even earlier, before the host is built (RuntimeSupervisor.TryPrelaunch).
/// </remarks>
public sealed partial class ShimHost : IAsyncDisposable
{
    private const int Backlog = 512;

    /// <summary>The .NET socket engine's switch that runs socket completions inline (Program.cs sets it for the shim process).</summary>
    internal const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
    private readonly WebApplication _app;
    private readonly RuntimeApiServer? _runtimeApi;
    private readonly CancellationTokenSource _stopping = new();
    private Task _worker = Task.CompletedTask;
    private bool _started;
    private Task _parentGone = new TaskCompletionSource().Task;

    private ShimHost(WebApplication app, RuntimeApiServer? runtimeApi, string runtimeApiAddress, string httpAddress)
    {
        _app = app;
        _runtimeApi = runtimeApi;
        RuntimeApiAddress = runtimeApiAddress;
        HttpAddress = httpAddress;
    }

    public string RuntimeApiAddress { get; }

    public string HttpAddress { get; }

    /// <summary>Completes when the shim's worker loop has ended (stopped, or its source closed).</summary>
    public Task Completion => _worker;

    /// <summary>
    /// Builds the shim; <paramref name="source"/> replaces the HTTP pull client (FNOP_SOURCE_URL) when given. With
    /// <paramref name="hosting"/> the shim is one instance inside another process (local mode's in-process instances):
    /// see <see cref="ShimHosting"/>.
    /// </summary>
    public static ShimHost Create(ShimOptions options, IInvocationSource? source = null, LogLevel minimumLevel = LogLevel.Information, TextWriter? output = null, ShimHosting? hosting = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (source is null && options.SourceUrl is null)
        {
            throw new ShimConfigurationException("Invalid runtime-shim configuration: FNOP_SOURCE_URL is required.");
        }

        if (hosting is not null)
        {
            // The host process is not the shim's: no parent watch, and memory from the runtime's process tree (never
            // the cgroup of whatever the host process is in).
            options = options with { ParentPid = null, MemorySource = "proc" };
            output = hosting.Output;
        }

        var apiSocket = BindListening(options.RuntimeApiEndpoint, ShimVariables.RuntimeApiAddress);
        Socket httpSocket;
        try
        {
            httpSocket = BindListening(options.HttpEndpoint, ShimVariables.HttpAddress);
        }
        catch
        {
            apiSocket.Dispose();
            throw;
        }

        var httpPort = ((IPEndPoint)httpSocket.LocalEndPoint!).Port;
        var runtimeApiAddress = Format((IPEndPoint)apiSocket.LocalEndPoint!);
        var httpAddress = Format((IPEndPoint)httpSocket.LocalEndPoint!);

        // The runtime starts now, while the host is built (its init is a cold start's critical path; it connects to the
        // bound socket and waits in the backlog until Kestrel accepts).
        var sink = new LogSink(output ?? Console.Out);
        var early = RuntimeSupervisor.TryPrelaunch(options, runtimeApiAddress, sink, hosting?.Environment);

        // No ContentRootPath scan, no appsettings*.json (with their file watchers), no ASPNETCORE_/DOTNET_ variables.
        var kestrelApi = options.RuntimeApiServer == ShimOptions.KestrelRuntimeApiServer;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k =>
        {
            // Kestrel owns the descriptors from here on (it closes them when it stops); the raw server keeps its socket.
            if (kestrelApi)
            {
                k.ListenHandle(Handoff(apiSocket));
            }

            k.ListenHandle(Handoff(httpSocket));
            k.Limits.MaxRequestBodySize = null;
            k.AddServerHeader = false;
        });
        builder.Services.AddRoutingCore();
        if (hosting is null && Environment.GetEnvironmentVariable(InlineCompletionsVariable) == "1")
        {
            // With inline socket completions (a shim process, Program.cs) Kestrel runs the requests on the thread that
            // completed the read too, instead of a hop through its I/O queue to a pool worker (issue #19). Its handlers
            // never block: they await the slot, read a body and write a small answer. In-process shims keep Kestrel's
            // defaults (the host process's sockets are not theirs to change). The raw Runtime API server runs its routes
            // inline on the read's completion anyway.
            builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>(o => o.UnsafePreferInlineScheduling = true);
        }

        if (hosting is not null)
        {
            // Ctrl-C and SIGTERM belong to the host process (local mode stops its instances itself).
            builder.Services.AddSingleton<IHostLifetime, HostedLifetime>();
        }

        ConfigureLogging(builder, minimumLevel, hosting);
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(sink);
        services.AddSingleton<InvocationSlot>();
        // START is written deferred (issue #19): it leaves with the invocation's next write, in one write(2) with END and
        // REPORT when the runtime wrote nothing; the memory sampler's 50 ms tick (which runs while the runtime works)
        // flushes it for an invocation that stays silent longer.
        // (A factory, not an instance: the container disposes what it created — the sampler's timer and /proc files.)
        services.AddSingleton(sp => new MemorySampler(sp.GetRequiredService<ShimOptions>()) { Ticked = sink.FlushDeferred, InProcess = hosting is not null });
        if (hosting is null)
        {
            services.AddSingleton<RuntimeSupervisor>();
        }
        else
        {
            // The runtime's environment is built from the instance's (as the shim process's would be), never the host's.
            services.AddSingleton(sp => new RuntimeSupervisor(
                sp.GetRequiredService<ShimOptions>(), sp.GetRequiredService<LogSink>(), sp.GetRequiredService<MemorySampler>(), sp.GetRequiredService<ILogger<RuntimeSupervisor>>())
            {
                InheritedEnvironment = hosting.Environment,
            });
        }

        services.AddSingleton<InvocationRunner>();
        IInvocationSource Inner(IServiceProvider sp) => source ?? new PullInvocationSource(
            // One long-lived client (no IHttpClientFactory): connections are recycled every 2 minutes, as the factory's
            // handler rotation did, so a gateway Service's changed endpoints are picked up.
            new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), UseCookies = false })
            {
                BaseAddress = options.SourceUrl,
                Timeout = Timeout.InfiniteTimeSpan,
            },
            options,
            sp.GetRequiredService<ILogger<PullInvocationSource>>(),
            sp.GetRequiredService<IHostApplicationLifetime>());
        if (hosting is null)
        {
            services.AddSingleton(_ => new IdleTrim());
            services.AddSingleton(sp => IdleTrim.Wrap(Inner(sp), sp.GetRequiredService<IdleTrim>()));
        }
        else
        {
            // No forced GC of the host process's heap: the trim is the shim process's own business.
            services.AddSingleton(_ => new IdleTrim(collect: static () => { }));
            services.AddSingleton(Inner);
        }

        services.AddSingleton<ShimWorker>();
        var app = builder.Build();
        if (early is not null)
        {
            app.Services.GetRequiredService<RuntimeSupervisor>().Adopt(early);
        }

        // Each listener serves its own routes only: the health port (0.0.0.0 in a pod) never reaches the Runtime API.
        app.Use((context, next) =>
        {
            var onHealthPort = context.Connection.LocalPort == httpPort;
            var healthPath = context.Request.Path.Value is "/healthz" or "/readyz" or "/metrics";
            if (onHealthPort != healthPath)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
        var supervisor = app.Services.GetRequiredService<RuntimeSupervisor>();
        var provider = app.Services;
        var api = new RuntimeApi(options, app.Services.GetRequiredService<InvocationSlot>(), supervisor,
            () => provider.GetService<IInvocationSource>() as IResponseStreamSink);
        RuntimeApiServer? rawApi = null;
        if (kestrelApi)
        {
            api.Map(app);
        }
        else
        {
            rawApi = new RuntimeApiServer(apiSocket, api, app.Services.GetRequiredService<ILogger<RuntimeApiServer>>(), options.RuntimeApiLimits);
        }

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", () => !lifetime.ApplicationStopping.IsCancellationRequested && supervisor.IsHealthy
            ? Results.Text("ready")
            : Results.Text("not ready", statusCode: 503));
        if (hosting is null)
        {
            // In-process the counters are shared by every instance and the process metrics would be the host's: not served.
            app.MapGet("/metrics", ShimMetrics.WriteAsync);
        }

        return new ShimHost(app, rawApi, runtimeApiAddress, httpAddress);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // The sockets already listen: the first pull starts now (the runtime already runs), while Kestrel starts accepting.
        _started = true;
        _worker = _app.Services.GetRequiredService<ShimWorker>().RunAsync(RuntimeApiAddress, _stopping.Token);
        _runtimeApi?.Start();
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app.Services.GetRequiredService<IdleTrim>().Started();
        if (_app.Services.GetRequiredService<ShimOptions>().ParentPid is { } parent)
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
        var lifetime = _app.Services.GetRequiredService<IHostApplicationLifetime>();
        await using (lifetime.ApplicationStopping.Register(() => signalled.TrySetResult()))
        {
            await Task.WhenAny(signalled.Task, _worker, _parentGone).ConfigureAwait(false);
        }

        if (_parentGone.IsCompletedSuccessfully && !signalled.Task.IsCompleted && !_worker.IsCompleted)
        {
            LogParentGone(_app.Services.GetRequiredService<ILogger<ShimHost>>(), _app.Services.GetRequiredService<ShimOptions>().ParentPid ?? 0);
            await StopAsync(ParentWatch.DrainLimit).ConfigureAwait(false);
            return;
        }

        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Stops pulling, lets the in-flight invocation finish and the runtime stop, then stops the listeners. With
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
            await _app.Services.GetRequiredService<RuntimeSupervisor>().StopAsync().ConfigureAwait(false);
            await Task.WhenAny(_worker, Task.Delay(limit)).ConfigureAwait(false);
        }

        await StopListenersAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// As <see cref="StopAsync(TimeSpan?)"/> with <paramref name="drainLimit"/>, but <paramref name="killNow"/> ends the
    /// drain at once (the runtime is killed) and bounds the wait for the worker after that to 10 s.
    /// </summary>
    public async Task StopAsync(TimeSpan drainLimit, CancellationToken killNow)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (await Task.WhenAny(_worker, Delay(drainLimit, killNow)).ConfigureAwait(false) != _worker)
        {
            await _app.Services.GetRequiredService<RuntimeSupervisor>().StopAsync().ConfigureAwait(false);
            var after = killNow.IsCancellationRequested ? TimeSpan.FromSeconds(Math.Min(10, drainLimit.TotalSeconds)) : drainLimit;
            await Task.WhenAny(_worker, Task.Delay(after)).ConfigureAwait(false);
        }

        await StopListenersAsync().ConfigureAwait(false);
    }

    private async Task StopListenersAsync()
    {
        if (_runtimeApi is not null)
        {
            await _runtimeApi.StopAsync().ConfigureAwait(false);
        }

        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private static Task Delay(TimeSpan limit, CancellationToken cancellationToken) =>
        Task.Delay(limit, cancellationToken).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    public async ValueTask DisposeAsync()
    {
        if (!_started)
        {
            // Created and never started: the runtime launched in Create stops here.
            await _app.Services.GetRequiredService<RuntimeSupervisor>().StopAsync().ConfigureAwait(false);
        }

        if (_runtimeApi is not null)
        {
            await _runtimeApi.DisposeAsync().ConfigureAwait(false);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static void ConfigureLogging(WebApplicationBuilder builder, LogLevel minimumLevel, ShimHosting? hosting)
    {
        // stdout carries the function's log stream (runtime output, START/END/REPORT); the shim's own logs go to stderr,
        // or in-process to the host's line writer, formatted alike.
        builder.Logging.ClearProviders();
        if (hosting is not null)
        {
            builder.Logging.AddProvider(new LineLoggerProvider(hosting.Log));
        }
        else
        {
            builder.Logging.AddConsole(o => o.FormatterName = ShimLogFormatter.FormatterName);
        }

        // The formatter registered by hand: AddConsoleFormatter<,> binds its options by reflection (not trimmable, AOT).
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ConsoleFormatter, ShimLogFormatter>());
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(minimumLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);

        // Hosting's request diagnostics: with any level enabled for this category it starts an Activity and a log scope per
        // request (issue #19 profile: ~2 % of a busy shim's CPU) and logs nothing above Information itself (failed
        // requests are Kestrel's own lines, category Microsoft.AspNetCore.Server.Kestrel, still at Warning).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
    }

    private static Socket BindListening(IPEndPoint endpoint, string variable)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            // As Kestrel binds: a restarted shim can take its port back while old connections linger in TIME_WAIT.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen(Backlog);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ShimConfigurationException($"Invalid runtime-shim configuration: cannot listen on {endpoint} ({variable}): {e.Message}.");
        }
    }

    /// <summary>
    /// Makes the calling process a child subreaper for in-process shims (as the shim process makes itself one): what a
    /// runtime leaves behind (a double fork, a `setsid` child) is re-parented to it and killed when a runtime ends.
    /// </summary>
    public static bool AdoptRuntimeOrphans() => FnOperator.Sandboxing.ProcessSandbox.BecomeSubreaper();

    /// <summary>The listening socket's descriptor for Kestrel, which takes ownership (this Socket object no longer closes it).</summary>
    private static ulong Handoff(Socket socket)
    {
        var handle = (ulong)socket.SafeHandle.DangerousGetHandle();
        socket.SafeHandle.SetHandleAsInvalid();
        return handle;
    }

    private static string Format(IPEndPoint endpoint) =>
        endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any)
            ? $"0.0.0.0:{endpoint.Port}"
            : endpoint.ToString();

    /// <summary>The host lifetime of an in-process shim: no signal handlers (the host process owns them).</summary>
    private sealed class HostedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Parent process {Pid} (FNOP_PARENT_PID) is gone; stopping")]
    private static partial void LogParentGone(ILogger logger, int pid);
}
