using System.Collections.Concurrent;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Api;

/// <summary>
/// The leases handed out over the pull protocol, and which function instances (pods) hold them: a shim names itself on pull requests
/// (<see cref="PullProtocol.InstanceHeader"/>, its pod name in a cluster); an invocation handed out to it marks it busy
/// until its result or release comes back, or its lease could have expired (timeout + <see cref="Slack"/>). The stats
/// endpoint reports them per version (<c>busyInstances</c>) and the autoscaler keeps busy pods' deletion cost high before
/// a scale-in; it also counts the hand-outs per version (<see cref="HandOuts"/>). Bounded: at most <see cref="MaxLeases"/> tracked (beyond that new leases are not tracked, and the pods
/// look idle: the shim's drain on SIGTERM still finishes their work). With several gateway replicas each one knows the
/// leases it handed out.
/// </summary>
public sealed class InstanceLeases(FunctionRegistry functions, TimeProvider time)
{
    public const int MaxLeases = 100_000;

    /// <summary>Versions whose hand-outs are counted (<see cref="HandOuts"/>); a version past the bound is not counted.</summary>
    public const int MaxCountedVersions = 10_000;

    public static readonly TimeSpan Slack = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, Lease> leases = new(StringComparer.Ordinal);

    private readonly ConcurrentDictionary<(FunctionKey Key, string Version), System.Runtime.CompilerServices.StrongBox<long>> handOuts = new();

    /// <summary>A lease handed out: the version, the instance (null when the worker did not name one), until when it can be held.</summary>
    public sealed record Lease(FunctionKey Key, string Version, string? Instance, DateTimeOffset Until);

    /// <summary>The instance named by the request, or null (an unnamed worker, or a name that is not a DNS subdomain).</summary>
    public static string? InstanceOf(HttpContext context)
    {
        var name = context.Request.Headers[PullProtocol.InstanceHeader].ToString();
        return name.Length is > 0 and <= 253 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.') ? name : null;
    }

    public void Handed(string? instance, Invocation invocation)
    {
        var key = new FunctionKey(invocation.Namespace, invocation.FunctionName);
        if (!handOuts.TryGetValue((key, invocation.Version), out var count) && handOuts.Count < MaxCountedVersions)
        {
            count = handOuts.GetOrAdd((key, invocation.Version), _ => new());
        }

        if (count is not null)
        {
            Interlocked.Increment(ref count.Value);
        }

        if (leases.Count >= MaxLeases)
        {
            return;
        }

        var timeout = functions.TryGet(key, out var spec) ? TimeSpan.FromSeconds(Math.Max(1, spec.TimeoutSeconds)) : TimeSpan.FromMinutes(15);
        leases[invocation.RequestId] = new Lease(key, invocation.Version, instance, time.GetUtcNow() + timeout + Slack);
    }

    /// <summary>
    /// Invocations of the version handed out through this gateway so far (only grows; null when the version is not
    /// counted). The autoscaler counts a version whose count changed between two of its polls as busy: short invocations
    /// that came and went between the polls show in no in-flight count (issue #19, as local mode's pool does with
    /// <see cref="Queue.IInvocationQueue.HandOuts"/>).
    /// </summary>
    public long? HandOuts(FunctionKey key, string version) =>
        handOuts.TryGetValue((key, version), out var count) ? Interlocked.Read(ref count.Value) : null;

    /// <summary>The versions with counted hand-outs, per function (one pass over the counters).</summary>
    public ILookup<FunctionKey, string> CountedVersions() =>
        handOuts.Keys.ToLookup(k => k.Key, k => k.Version);

    /// <summary>The lease ended (result or release); returns it, or null when it was not tracked.</summary>
    public Lease? Ended(string requestId) => leases.TryRemove(requestId, out var lease) ? lease : null;

    /// <summary>Instances holding a lease now, per version, each list sorted; expired entries are dropped on the way (one pass).</summary>
    public IReadOnlyDictionary<(FunctionKey Key, string Version), List<string>> Busy()
    {
        var now = time.GetUtcNow();
        var busy = new Dictionary<(FunctionKey, string), SortedSet<string>>();
        foreach (var (requestId, lease) in leases)
        {
            if (lease.Until <= now)
            {
                leases.TryRemove(requestId, out _);
            }
            else if (lease.Instance is { } instance)
            {
                var k = (lease.Key, lease.Version);
                if (!busy.TryGetValue(k, out var set))
                {
                    busy[k] = set = new SortedSet<string>(StringComparer.Ordinal);
                }

                set.Add(instance);
            }
        }

        return busy.ToDictionary(p => p.Key, p => p.Value.ToList());
    }
}
