using System.Runtime.InteropServices;
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
        if (shim is null)
        {
            await Console.Error.WriteLineAsync(
                $"local: the runtime-shim ({ShimLocator.DllName}) was not found; build it with " +
                "'dotnet build runtime-shim/FnOperator.RuntimeShim -c Release', or pass --shim <path> / set FNOP_SHIM_DLL").ConfigureAwait(false);
            return 2;
        }

        var manifests = ManifestLoader.Load(options.Functions);
        var limits = manifests.Functions.ToDictionary(f => f, f => ScalingLimits.From(f.Function.Spec, options.IdleOverride));
        var output = ProcessOutput.Console;
        if (manifests.Functions.Count == 0)
        {
            output.Line(StartupTable.Render(manifests, limits, $"http://{options.Listen}", options.Functions));
            await Console.Error.WriteLineAsync($"local: no servable Function in {options.Functions}").ConfigureAwait(false);
            return 1;
        }

        return await ServeAsync(options, shim, manifests, limits, output, ct).ConfigureAwait(false);
    }

    private static async Task<int> ServeAsync(
        LocalOptions options, string shim, ManifestSet manifests, Dictionary<LocalFunction, ScalingLimits> limits, ProcessOutput output, CancellationToken ct)
    {
        // The gateway composition is the seam with the gateway core: LocalGateway builds it from the registry.
        var registry = new FunctionRegistry();
        foreach (var fn in manifests.Functions)
        {
            registry.Upsert(new FunctionKey(fn.Namespace, fn.Name), fn.Function.Spec);
        }

        await using var gateway = await LocalGateway.StartAsync(options, registry, ct).ConfigureAwait(false);
        var endpoint = gateway.Endpoint;
        output.Line(StartupTable.Render(manifests, limits, endpoint, options.Functions));

        var loggerFactory = gateway.LoggerFactory;
        var source = new QueueLoadSource(gateway.Queue);
        var dotnet = ShimLocator.DotnetHost();
        using var credentials = new LocalPullCredentials(gateway.ClusterKey);
        var pools = manifests.Functions.Select(fn => new FunctionPool(
            fn,
            new ShimLaunch(dotnet, shim, StartupTable.InvokeName(fn), credentials.Add(ShimEnvironment.For(fn, gateway.SourceUrl, registry.Region), fn.Namespace, fn.Name)),
            limits[fn],
            source,
            output,
            TimeProvider.System,
            loggerFactory.CreateLogger<FunctionPool>())).ToList();

        // Ctrl-C and SIGTERM stop the pools first (each shim drains its in-flight invocation and hands the result to
        // the still running gateway), then the gateway. Handling the signals here keeps the runtime from exiting early.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        var running = pools.Select(p => p.RunAsync(stop.Token)).ToList();
        await Task.WhenAny(gateway.Completion, Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default)).ConfigureAwait(false);

        output.Line("Stopping: draining the function instances…");
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(running).ConfigureAwait(false);
        output.Line("Stopped.");
        return gateway.Completion.IsFaulted ? 1 : 0;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already stopped.
            }
        }
    }
}
