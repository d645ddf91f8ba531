using System.Globalization;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Operator.Autoscaling;
using FnOperator.Operator.Runtime;

namespace FnOperator.Operator.Controllers;

/// <summary>Settings of the "invoked recently" rule, bound from "Operator:InvokedVersions" (env Operator__InvokedVersions__…).</summary>
public sealed record InvokedVersionsOptions
{
    public const string Section = OperatorOptions.Section + ":InvokedVersions";

    /// <summary>A published version keeps its Deployment this long after the gateway last reported work for it.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>How often the gateway's per-version stats are read.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>At most this many invoked-only versions of one function get a Deployment (the most recently invoked).</summary>
    public int MaxPerFunction { get; init; } = 5;

    /// <summary>At most this many invoked versions are tracked in all (memory bound); more are ignored until some expire.</summary>
    public int MaxTracked { get; init; } = 10_000;
}

/// <summary>
/// Which published versions were invoked recently: the gateway reported queued, in-flight or waiting work for them
/// (<see cref="InvokedVersionsWatcher"/> feeds it from <c>/_fnop/v1/stats</c>) within <see cref="InvokedVersionsOptions.Retention"/>.
/// Such a version gets a Deployment (<see cref="VersionDeployments"/>) even when no Alias names it, which the autoscaler
/// then scales on the version's demand. Bounded by <see cref="InvokedVersionsOptions.MaxTracked"/> and
/// <see cref="InvokedVersionsOptions.MaxPerFunction"/>. <see cref="Changed"/> names a Function whose set changed.
/// </summary>
public sealed class InvokedVersions(InvokedVersionsOptions options, TimeProvider time)
{
    private readonly Dictionary<VersionKey, DateTimeOffset> lastInvoked = [];
    private volatile bool seeded;

    /// <summary>A Function whose set of recently invoked versions changed (its reconcile adds or removes Deployments).</summary>
    public event Action<ObjectKey>? Changed;

    /// <summary>False until the watcher has seeded the set from the Deployments that exist: until then none is deleted for want of invocations.</summary>
    public bool Seeded => seeded;

    /// <summary>The controller source: every change enqueues its Function.</summary>
    public static Action Subscribe(IServiceProvider services, Action<ObjectKey> enqueue)
    {
        var tracker = (InvokedVersions)services.GetService(typeof(InvokedVersions))!;
        tracker.Changed += enqueue;
        return () => tracker.Changed -= enqueue;
    }

    /// <summary>The published versions of <paramref name="fn"/> invoked within the retention window, at most MaxPerFunction (the most recent).</summary>
    public IReadOnlySet<int> Recent(Function fn)
    {
        var cutoff = time.GetUtcNow() - options.Retention;
        lock (lastInvoked)
        {
            return lastInvoked
                .Where(e => e.Key.Namespace == fn.Metadata.NamespaceProperty && e.Key.Function == fn.Metadata.Name && e.Value > cutoff)
                .OrderByDescending(e => e.Value)
                .Take(options.MaxPerFunction)
                .Select(e => int.Parse(e.Key.Version, CultureInfo.InvariantCulture))
                .ToHashSet();
        }
    }

    /// <summary>Starts a term: forgets everything and treats <paramref name="deployed"/> versions as invoked now, so a new leader keeps them one window.</summary>
    public void Seed(IEnumerable<VersionKey> deployed)
    {
        var now = time.GetUtcNow();
        List<VersionKey> keys;
        lock (lastInvoked)
        {
            lastInvoked.Clear();
            foreach (var key in deployed.Where(k => FunctionVersions.IsPublished(k.Version)).Take(options.MaxTracked))
            {
                lastInvoked[key] = now;
            }

            keys = [.. lastInvoked.Keys];
        }

        seeded = true;
        foreach (var key in keys.Select(FunctionOf).Distinct())
        {
            Changed?.Invoke(key);
        }
    }

    /// <summary>Records one stats reading: versions with work are invoked now; versions past the window are dropped. Raises <see cref="Changed"/> for both.</summary>
    public void Observe(IReadOnlyDictionary<VersionKey, VersionLoad> loads)
    {
        var now = time.GetUtcNow();
        var changed = new HashSet<ObjectKey>();
        lock (lastInvoked)
        {
            foreach (var (key, load) in loads)
            {
                if (load.Depth + load.InFlight + load.WaitingSync <= 0 || !FunctionVersions.IsPublished(key.Version))
                {
                    continue;
                }

                if (lastInvoked.ContainsKey(key) || lastInvoked.Count < options.MaxTracked)
                {
                    if (!lastInvoked.ContainsKey(key))
                    {
                        changed.Add(FunctionOf(key));
                    }

                    lastInvoked[key] = now;
                }
            }

            foreach (var expired in lastInvoked.Where(e => now - e.Value >= options.Retention).Select(e => e.Key).ToList())
            {
                lastInvoked.Remove(expired);
                changed.Add(FunctionOf(expired));
            }
        }

        foreach (var key in changed)
        {
            Changed?.Invoke(key);
        }
    }

    /// <summary>Ends a term: nothing is known until the next seed.</summary>
    public void Reset() => seeded = false;

    private static ObjectKey FunctionOf(VersionKey key) => new(key.Namespace, key.Function);
}
