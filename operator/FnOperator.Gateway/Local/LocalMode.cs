using System.Runtime.InteropServices;
using FnOperator.Contracts.Scaling;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FnOperator.Gateway.Local;

/// <summary>
/// <c>FnOperator.Gateway local</c>: reads Function manifests, serves them through the gateway with the in-process
/// queue, and runs a pool of runtime-shim processes per function, scaled from zero on demand and back to zero when idle.
/// </summary>
public static partial class LocalMode
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        if (!LocalOptions.TryParse(args, out var options, out var error))
        {
            await Console.Error.WriteLineAsync($"local: {error}\n{LocalOptions.Usage}").ConfigureAwait(false);
            return 2;
        }

        var shim = ShimLocator.Find(options.ShimDll);
        if (options.Instances == InstanceMode.InProcess)
        {
            // The shim runs from this process's own copy (the gateway references it); no shim executable is started. A
            // located Native AOT shim stays in the launch only to lend its `sandbox-exec` step (InProcessLauncher.Environment).
            var own = Path.Combine(AppContext.BaseDirectory, ShimLocator.DllName);
            shim = shim is not null && ShimLocator.IsNative(shim) ? shim : own;
            if (!File.Exists(own) || !Directory.Exists(InProcessLauncher.BootstrapDirectory))
            {
                await Console.Error.WriteLineAsync(
                    $"local: --instances in-process needs the runtime-shim and its bootstraps/ next to the gateway ({AppContext.BaseDirectory}); " +
                    "rebuild the gateway ('dotnet build operator/FnOperator.Gateway -c Release'), or use --instances process").ConfigureAwait(false);
                return 2;
            }
        }
        else if (shim is null)
        {
            await Console.Error.WriteLineAsync(
                $"local: the runtime-shim ({ShimLocator.DllName}) was not found; build it with " +
                "'dotnet build runtime-shim/FnOperator.RuntimeShim -c Release', or pass --shim <path> / set FNOP_SHIM_DLL").ConfigureAwait(false);
            return 2;
        }

        // Layers: versions published into a per-run state folder, merged per function (docs/layers.md "Local mode").
        var state = Directory.CreateTempSubdirectory("fnop-layers-").FullName;
        if (!OperatingSystem.IsWindows())
        {
            // Readable by every function's own uid (the sandbox runs each function's runtime as its own user); the
            // layers are the functions' /opt, read-only to them as in Lambda.
            File.SetUnixFileMode(state, (UnixFileMode)0x1ED); // rwxr-xr-x
        }

        using var layerHttp = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var layers = await Layers.LoadAsync(options.Functions, state, new LayersCache(LayersCache.DefaultDirectory, layerHttp), ct).ConfigureAwait(false);
        try
        {
            return await RunWithLayersAsync(options, shim, layers, ct).ConfigureAwait(false);
        }
        finally
        {
            LayersStore.TryDelete(state);
        }
    }

    private static async Task<int> RunWithLayersAsync(LocalOptions options, string shim, Layers layers, CancellationToken ct)
    {
        var manifests = layers.Bind(ManifestLoader.Load(options.Functions));
        var limits = manifests.Functions.ToDictionary(f => f, f => FunctionPool.LimitsFor(f.Function.Spec, options.IdleOverride));
        var output = new ProcessOutput(Console.Out, RuntimeWarnings.MemoryWarner());
        if (manifests.Functions.Count == 0)
        {
            output.Line(StartupTable.Render(manifests, limits, $"http://{options.Listen}", options.Functions));
            await Console.Error.WriteLineAsync($"local: no servable Function in {options.Functions}").ConfigureAwait(false);
            return 1;
        }

        return await ServeAsync(options, shim, manifests, layers, limits, output, ct).ConfigureAwait(false);
    }

    private static async Task<int> ServeAsync(
        LocalOptions options, string shim, ManifestSet manifests, Layers layers, Dictionary<LocalFunction, ScalingLimits> limits, ProcessOutput output, CancellationToken ct)
    {
        // The gateway composition is the seam with the gateway core: LocalGateway builds it from the registry.
        var registry = new FunctionRegistry();
        foreach (var fn in manifests.Functions)
        {
            registry.Upsert(new FunctionKey(fn.Namespace, fn.Name), fn.Function.Spec);
        }

        var versions = new VersionStore(registry, VersionStore.DefaultFolder, manifests.Functions.ToDictionary(f => new FunctionKey(f.Namespace, f.Name)));
        LocalGateway started;
        try
        {
            started = await LocalGateway.StartAsync(options, registry, ct, versions).ConfigureAwait(false);
        }
        catch (ListenAddressInUseException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 1;
        }
        catch (IOException e)
        {
            // Another bind failure (a privileged port, an address this machine does not have): one line, no stack trace.
            await Console.Error.WriteLineAsync($"local: cannot listen on {options.Listen}: {(e.InnerException?.Message ?? e.Message).TrimEnd('.')}; choose another address with make run LISTEN=127.0.0.1:9000 (or --listen)").ConfigureAwait(false);
            return 1;
        }

        await using var gateway = started;
        var endpoint = gateway.Endpoint;
        output.Line(StartupTable.Render(manifests, limits, endpoint, options.Functions));
        foreach (var line in layers.TableLines())
        {
            output.Line(line);
        }

        foreach (var note in await RuntimeWarnings.VersionNotesAsync(manifests.Functions, ct).ConfigureAwait(false))
        {
            output.Line(note);
        }


        var loggerFactory = gateway.LoggerFactory;

        // Orphans a dead shim leaves behind are re-parented to local mode, which kills them (see ShimInstance). In-process,
        // each runtime's keeper is its subreaper and kills what it left (when it ends, or local mode dies); only without
        // keepers is local mode the subreaper of every runtime, killing what one left when it ends.
        IInstanceLauncher launcher = ProcessLauncher.Instance;
        if (options.Instances == InstanceMode.InProcess)
        {
            if (!InProcessLauncher.HasKeepers(shim))
            {
                InProcessLauncher.AdoptRuntimeOrphans();
            }

            launcher = new InProcessLauncher(gateway.PullCore, gateway.Streams, gateway.LoggerFactory);
        }
        else
        {
            FnOperator.Sandboxing.ProcessSandbox.BecomeSubreaper();
        }

        var source = new QueueLoadSource(gateway.Queue);
        var dotnet = ShimLocator.DotnetHost();
        using var credentials = new LocalPullCredentials(gateway.ClusterKey);
        var pools = manifests.Functions.Select(fn => new FunctionPool(
            fn,
            new ShimLaunch(dotnet, shim, StartupTable.InvokeName(fn), credentials.Add(ShimEnvironment.For(fn, gateway.SourceUrl, registry.Region, layers.OptFor(fn)), fn.Namespace, fn.Name)),
            limits[fn],
            new VersionLoadSource(gateway.Queue, FunctionRegistry.Latest), // each version's pool scales on its own lane
            output,
            TimeProvider.System,
            loggerFactory.CreateLogger<FunctionPool>(),
            launcher)).ToList();

        // Ctrl-C and SIGTERM stop the pools first (each shim drains its in-flight invocation and hands the result to
        // the still running gateway), then the gateway; a second Ctrl-C kills what is still draining.
        using var signals = new StopSignals(ct, () => output.Line("Stopping now: killing the function instances."));
        var running = pools.Select(p => p.RunAsync(signals.Graceful, signals.Now)).ToList();
        running.Add(LocalEventSources.RunAsync(options.Functions, manifests, endpoint, output.Line, signals.Graceful));
        running.AddRange(manifests.Functions.Select((fn, i) =>
            new CodeWatcher(fn, pools[i], output, TimeProvider.System, loggerFactory.CreateLogger<CodeWatcher>()).RunAsync(signals.Graceful)));
        running.Add(new LayersWatcher(layers, manifests.Functions.Select((fn, i) => (fn, pools[i])).ToDictionary(p => p.fn, p => p.Item2),
            output, TimeProvider.System, loggerFactory.CreateLogger<LayersWatcher>()).RunAsync(signals.Graceful));
        output.Line("Code folders are watched: an edit restarts the function's warm instances.");
        var versionPools = new VersionPools((fn, label, env) => new FunctionPool(
            fn, new ShimLaunch(dotnet, shim, label, credentials.Add(env, fn.Namespace, fn.Name, env[FnOperator.Contracts.LambdaVariables.FunctionVersion])),
            FunctionPool.LimitsFor(fn.Function.Spec, options.IdleOverride), new VersionLoadSource(gateway.Queue, env[FnOperator.Contracts.LambdaVariables.FunctionVersion]), output,
            TimeProvider.System, loggerFactory.CreateLogger<FunctionPool>(), launcher), signals.Graceful, signals.Now);
        versions.VersionAdded += (fn, version, code) => versionPools.Start(fn, version, code, gateway.SourceUrl, registry.Region);
        versions.Load();
        var aliasManifests = VersionAliasManifests.Load(options.Functions);
        foreach (var note in aliasManifests.Problems.Concat(VersionAliasManifests.Register(registry, aliasManifests.Aliases)))
        {
            output.Line(note);
        }

        output.Line($"Published versions and aliases are kept in {versions.Folder} (docs/versions.md).");
        await Task.WhenAny(gateway.Completion, Task.Delay(Timeout.Infinite, signals.Graceful).ContinueWith(_ => { }, TaskScheduler.Default)).ConfigureAwait(false);

        output.Line(StopReport.Waiting(manifests.Functions, pools, source));
        await Task.WhenAll(running).ConfigureAwait(false);
        await versionPools.StoppedAsync().ConfigureAwait(false);
        var discarded = StopReport.Discarded(manifests.Functions, gateway.Queue);
        if (discarded is not null)
        {
            output.Line(discarded);
        }

        var forced = signals.Now.IsCancellationRequested;
        await gateway.StopAsync(forced ? TimeSpan.Zero : TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        output.Line("Stopped.");
        return forced ? 130 : gateway.Completion.IsFaulted ? 1 : 0;
    }
}
