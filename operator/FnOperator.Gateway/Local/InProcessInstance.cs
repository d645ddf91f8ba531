using System.Collections;
using System.Text;
using FnOperator.Contracts;
using FnOperator.Gateway.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Streaming;
using FnOperator.RuntimeShim;
using Microsoft.Extensions.Logging;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Starts in-process instances (<c>--instances in-process</c>): each is a <see cref="ShimHost"/> in the gateway's own
/// process, fed by an <see cref="InProcessInvocationSource"/> of its function version, so an invocation goes caller →
/// gateway → runtime → gateway with no shim process and no pull HTTP. The shim's options and its runtime's environment
/// come from the same environment local mode would start a shim process with (<see cref="ShimEnvironment"/> +
/// <see cref="LocalSandbox.ShimEnvironment"/>), never from the gateway's own.
/// </summary>
public sealed class InProcessLauncher(PullCore core, ResponseStreams streams, ILoggerFactory loggers) : IInstanceLauncher
{
    private int counter;

    /// <summary>Where the in-process shims find their node/python/dotnet bootstraps: the shim's files copied next to the gateway.</summary>
    public static string BootstrapDirectory => Path.Combine(AppContext.BaseDirectory, "bootstraps");

    /// <summary>
    /// Makes local mode the subreaper of the in-process runtimes (what a runtime leaves behind is killed when a runtime
    /// ends, as the shim process does for its own runtime). Only without keepers (<see cref="HasKeepers"/>): call once,
    /// before the first instance starts, instead of the process mode's subreaper.
    /// </summary>
    public static bool AdoptRuntimeOrphans() => ShimHost.AdoptRuntimeOrphans();

    /// <summary>
    /// True when each in-process runtime runs under a keeper of <paramref name="shim"/> (its `keeper` verb: Linux, the shim
    /// exists): the keeper is the runtime's subreaper and kills what the runtime left when it ends or local mode dies.
    /// </summary>
    public static bool HasKeepers(string shim) => SandboxSettings.KeeperFrom(Path.GetFullPath(shim)) is not null;

    /// <summary>The shim's environment for an in-process instance: as for a shim process, without what only a process needs.</summary>
    public static Dictionary<string, string> Environment(ShimLaunch launch, IDictionary host)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var env = LocalSandbox.ShimEnvironment(launch.Environment, Path.Combine(AppContext.BaseDirectory, ShimLocator.DllName), host);
        env.Remove(ShimVariables.ParentPid); // the shim is in local mode's own process
        env.Remove(ShimVariables.SourceUrl); // its source is in memory
        env.Remove(PullProtocol.CredentialFileEnv);
        // With a Native AOT shim at hand its `sandbox-exec` step starts the runtime (own process group, no new session),
        // so on a kernel with autogroups the runtimes share local mode's scheduling group instead of one each
        // (docs/runtime-shim.md, "The sandbox's scheduling"); the JIT shim's dotnet start would cost ~50 ms per runtime.
        if (ShimLocator.IsNative(launch.ShimDll))
        {
            env[SandboxSettings.GroupLauncherVariable] = Path.GetFullPath(launch.ShimDll);
        }

        // Each runtime under a keeper of its own (the shim's `keeper` verb; the JIT DLL's when no Native AOT shim is at
        // hand): the runtime and what it leaves behind are one unit, as under a shim process (docs/local-mode.md).
        env[SandboxSettings.KeeperVariable] = Path.GetFullPath(launch.ShimDll);

        return env;
    }

    public IFunctionInstance Start(ShimLaunch launch, ProcessOutput output, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ArgumentNullException.ThrowIfNull(output);
        var env = Environment(launch, System.Environment.GetEnvironmentVariables());
        ShimOptions options;
        try
        {
            options = ShimOptions.FromEnvironment(new Hashtable(env)) with { BootstrapDirectory = BootstrapDirectory };
        }
        catch (ShimConfigurationException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }

        var name = $"in-process {Interlocked.Increment(ref counter)}";
        var source = new InProcessInvocationSource(
            core, new FunctionKey(options.FunctionNamespace, options.FunctionName), options.FunctionVersion, streams, loggers.CreateLogger<InProcessInvocationSource>());
        var lines = new PrefixedLineWriter(output, launch.Label);
        var hosting = new ShimHosting
        {
            Environment = new Hashtable(env),
            Output = lines,

            // The shim's own log lines after what its log stream wrote before them (a deferred START, issue #19).
            Log = lines.WriteLineNow,
        };
        ShimHost host;
        try
        {
            host = ShimHost.Create(options, source, options.LogLevel, hosting: hosting);
        }
        catch (ShimConfigurationException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }

        return new InProcessInstance(host, source, name, launch.Label, output, now);
    }
}

/// <summary>
/// One in-process instance: its shim host (Runtime API listener, worker, supervised runtime process) and its source.
/// Stopping drains like a shim process on SIGTERM: no new lease, the in-flight invocations finish and are answered; after
/// the grace the runtime is killed (its invocations end as Runtime.ExitError). Leases still held after that are given up
/// (<see cref="InProcessInvocationSource.AbandonLeasesAsync"/>). Local mode's "stop now" (a second Ctrl-C) first cuts
/// the instance off from the queue, so its callers see what a killed shim process gives them: a cut connection.
/// </summary>
public sealed class InProcessInstance : IFunctionInstance
{
    private readonly ShimHost host;
    private readonly InProcessInvocationSource source;
    private readonly TaskCompletionSource<int> exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task started;
    private int stopping;

    internal InProcessInstance(ShimHost host, InProcessInvocationSource source, string name, string label, ProcessOutput output, DateTimeOffset now)
    {
        this.host = host;
        this.source = source;
        Name = name;
        StartedAt = now;
        started = host.StartAsync(CancellationToken.None);
        _ = WatchAsync(label, output);
    }

    public string Name { get; }

    public DateTimeOffset StartedAt { get; }

    public Task<int> Exited => exited.Task;

    /// <summary>The invocations the instance holds now.</summary>
    public int Leased => source.Leased;

    public Task StopAsync(TimeSpan grace, CancellationToken cancellationToken) => StopCoreAsync(grace, cancellationToken, cutOnCancel: true);

    /// <param name="cutOnCancel">True for the pool's stop: <paramref name="cancellationToken"/> is local mode's "stop now",
    /// which cuts the instance off from the queue before its runtime is killed (<see cref="InProcessInvocationSource.Cut"/>).</param>
    private async Task StopCoreAsync(TimeSpan grace, CancellationToken cancellationToken, bool cutOnCancel)
    {
        using var cutNow = cutOnCancel ? cancellationToken.Register(source.Cut) : default;
        if (Interlocked.Exchange(ref stopping, 1) == 1)
        {
            await exited.Task.ConfigureAwait(false);
            return;
        }

        try
        {
            await started.ConfigureAwait(false);
            await host.StopAsync(grace, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException)
        {
            // A host that failed to start has nothing to drain.
        }
        finally
        {
            await source.AbandonLeasesAsync().ConfigureAwait(false);
            exited.TrySetResult(0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!exited.Task.IsCompleted)
        {
            using var now = new CancellationTokenSource();
            await now.CancelAsync().ConfigureAwait(false);
            await StopCoreAsync(TimeSpan.Zero, now.Token, cutOnCancel: false).ConfigureAwait(false);
        }

        await host.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Reports the instance ready, and ends it when its worker stops on its own (its version is gone, or it failed).</summary>
    private async Task WatchAsync(string label, ProcessOutput output)
    {
        try
        {
            await started.ConfigureAwait(false);
            output.Prefixed(label, $"instance {Name} ready (runtime-api={host.RuntimeApiAddress})");
            await host.Completion.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (Interlocked.Exchange(ref stopping, 1) == 0)
            {
                output.Prefixed(label, $"instance {Name} failed: {e.Message}");
                await source.AbandonLeasesAsync().ConfigureAwait(false);
                exited.TrySetResult(1);
            }

            return;
        }

        if (Interlocked.Exchange(ref stopping, 1) == 0)
        {
            // The worker ended without a stop (its source closed): stop the listeners, as a shim process exits then.
            try
            {
                await host.StopAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                await source.AbandonLeasesAsync().ConfigureAwait(false);
                exited.TrySetResult(0);
            }
        }
    }
}
