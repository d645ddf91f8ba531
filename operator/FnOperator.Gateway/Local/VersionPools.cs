using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Contracts.Scaling;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Local;

/// <summary>
/// One instance pool per published version in local mode: shims that run the version's code copy and spec, tell the
/// gateway their version (AWS_LAMBDA_FUNCTION_VERSION) and so pull only that version's invocations. Started as
/// versions are loaded or published; stopped with local mode. Bounded: at most <see cref="MaxPools"/> versions run.
/// </summary>
public sealed class VersionPools(
    Func<LocalFunction, string, IReadOnlyDictionary<string, string>, FunctionPool> createPool,
    CancellationToken graceful,
    CancellationToken now)
{
    public const int MaxPools = 64;
    private readonly List<Task> running = [];
    private readonly HashSet<string> started = new(StringComparer.Ordinal);

    /// <summary>Starts the pool of <paramref name="version"/> (once): its spec, its code folder.</summary>
    public void Start(LocalFunction function, PublishedVersion version, string codeDirectory, string sourceUrl, string region)
    {
        lock (running)
        {
            var id = $"{function.Namespace}/{function.Name}:{version.Version}";
            if (graceful.IsCancellationRequested || running.Count >= MaxPools || !started.Add(id))
            {
                return;
            }

            var frozen = new Function { Metadata = function.Function.Metadata, Spec = version.Spec };
            var local = function with { Function = frozen, CodeDirectory = codeDirectory };
            var env = new Dictionary<string, string>(ShimEnvironment.For(local, sourceUrl, region), StringComparer.Ordinal)
            {
                [LambdaVariables.FunctionVersion] = version.Version,
            };
            var label = $"{FunctionRegistry.DisplayName(new FunctionKey(function.Namespace, function.Name))}:{version.Version}";
            running.Add(createPool(local, label, env).RunAsync(graceful, now));
        }
    }

    /// <summary>Completes when every version pool has drained (after the graceful stop).</summary>
    public Task StoppedAsync()
    {
        lock (running)
        {
            return Task.WhenAll(running);
        }
    }

    /// <summary>Local mode's limits for a version pool: the version's own spec.</summary>
    public static ScalingLimits Limits(FunctionSpec spec, TimeSpan? idleOverride) => FunctionPool.LimitsFor(spec, idleOverride);
}
