using System.Globalization;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Operator.Runtime;
using k8s;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Alias → the versions invocations through it go to. Phases: the Function exists (FunctionNotFound) → the routing
/// follows Lambda's rules (InvalidWeights, terminal) → every named version is published and not pruned
/// (VersionNotFound) → status.resolvedVersions, status.aliasArn. Ready is derived from Resolved. Aliases are indexed by
/// their Function, so a Function that publishes a version re-enqueues its Aliases.
/// </summary>
public sealed class AliasReconciler(
    Informer<Alias> aliases, Informer<Function> functions, VersionPublisher publisher, StatusWriter statusWriter,
    IEventRecorder events, IOptions<OperatorOptions> options, TimeProvider time) : IReconciler
{
    /// <summary>Index of the Alias cache: the key (namespace/name) of the Function an Alias names.</summary>
    public const string ByFunction = "aliasesByFunction";

    /// <summary>The account id of ARNs, as the gateway writes them.</summary>
    public const string AccountId = "000000000000";

    public const string Resolved = "Resolved";

    public static ConditionSet Conditions { get; } = ConditionSet.Living(Resolved);

    public string Kind => Alias.KindName;

    public static IEnumerable<string> FunctionKeys(Alias alias) => [FunctionKey(alias).ToString()];

    public static ObjectKey FunctionKey(Alias alias) => new(alias.Metadata.NamespaceProperty ?? "", alias.Spec.FunctionName);

    /// <summary>The alias's name as callers give it: spec.name, else metadata.name.</summary>
    public static string NameOf(Alias alias) => string.IsNullOrEmpty(alias.Spec.Name) ? alias.Metadata.Name : alias.Spec.Name;

    /// <summary>The versions an alias names: functionVersion, then the additional version if any.</summary>
    public static IEnumerable<string> NamedVersions(AliasSpec spec) =>
        [spec.FunctionVersion, .. spec.RoutingConfig?.AdditionalVersionWeights?.Keys ?? Enumerable.Empty<string>()];

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        if (aliases.Get(key) is not { Metadata.DeletionTimestamp: null } alias)
        {
            return ReconcileResult.Done;
        }

        // A copy: the cached Alias is the informer's, and StatusWriter tells a change by comparing with it.
        var status = alias.Status is { } cached ? KubernetesJson.Deserialize<AliasStatus>(KubernetesJson.Serialize(cached)) : new AliasStatus();
        var conditions = Conditions.Manage(status, alias.Metadata.Generation, time.GetUtcNow());
        conditions.BeginGeneration();
        var state = new State(alias, status, conditions);
        var failed = await Phases.RunAsync(
            state, [FindFunctionAsync, CheckRoutingAsync, ResolveVersionsAsync], conditions,
            p => events.Record(alias, EventType.Warning, p.Reason, p.Message), options.Value.DependencyRetry, cancellationToken).ConfigureAwait(false);
        conditions.ObserveGeneration();
        return await statusWriter.WriteAsync(alias, status, cancellationToken).ConfigureAwait(false)
            ? failed ?? ReconcileResult.Done
            : ReconcileResult.Conflict("Alias changed while its status was written.");
    }

    /// <summary>Lambda's routing rules (<see cref="AliasRules"/>); null when the routing is valid, else the message.</summary>
    public static string? RoutingError(AliasSpec spec) => AliasRules.RoutingError(spec.FunctionVersion, spec.RoutingConfig?.AdditionalVersionWeights);

    private Task<Problem?> FindFunctionAsync(State state, CancellationToken cancellationToken)
    {
        var fn = functions.Get(FunctionKey(state.Alias));
        if (fn is null)
        {
            state.Status.ResolvedVersions = null;
            return Task.FromResult<Problem?>(Problem.AfterDependency(Resolved, AliasReasons.FunctionNotFound,
                $"Function {state.Alias.Spec.FunctionName} does not exist in namespace {state.Alias.Metadata.NamespaceProperty}."));
        }

        state.Function = fn;
        state.Status.AliasArn = Arn(fn, NameOf(state.Alias));
        return Task.FromResult<Problem?>(null);
    }

    private static Task<Problem?> CheckRoutingAsync(State state, CancellationToken cancellationToken) =>
        Task.FromResult(RoutingError(state.Alias.Spec) is { } error
            ? Problem.Terminal(Resolved, AliasReasons.InvalidWeights, error)
            : null);

    private Task<Problem?> ResolveVersionsAsync(State state, CancellationToken cancellationToken)
    {
        var spec = state.Alias.Spec;
        var published = publisher.Versions(state.Function!).Select(v => v.Version).ToHashSet(StringComparer.Ordinal);
        var missing = NamedVersions(spec).Where(v => v != FunctionVersions.Latest && !published.Contains(v)).ToList();
        if (missing.Count > 0)
        {
            state.Status.ResolvedVersions = null;
            return Task.FromResult<Problem?>(Problem.AfterDependency(Resolved, AliasReasons.VersionNotFound,
                $"Function {spec.FunctionName} has no version {string.Join(", ", missing)}; published: {(published.Count == 0 ? "none" : string.Join(", ", published.Order(StringComparer.Ordinal)))}."));
        }

        var resolved = new List<AliasVersionWeight>();
        var extra = spec.RoutingConfig?.AdditionalVersionWeights?.FirstOrDefault();
        var extraWeight = extra is { Key: not null } e ? e.Value : 0;
        resolved.Add(new AliasVersionWeight { Version = spec.FunctionVersion, Weight = 1 - extraWeight });
        if (extra is { Key: not null } x)
        {
            resolved.Add(new AliasVersionWeight { Version = x.Key, Weight = x.Value });
        }

        var before = state.Alias.Status?.ResolvedVersions;
        state.Status.ResolvedVersions = resolved;
        var text = string.Join(", ", resolved.Select(r => $"{r.Version} ({r.Weight.ToString("0.###", CultureInfo.InvariantCulture)})"));
        if (before is null || !before.Select(b => (b.Version, b.Weight)).SequenceEqual(resolved.Select(r => (r.Version, r.Weight))))
        {
            events.Record(state.Alias, EventType.Normal, AliasReasons.VersionsResolved, $"Routes to {text}");
        }

        state.Conditions.MarkTrue(Resolved, AliasReasons.VersionsResolved, $"Routes to {text}.");
        return Task.FromResult<Problem?>(null);
    }

    private string Arn(Function fn, string alias)
    {
        var ns = fn.Metadata.NamespaceProperty ?? "default";
        var display = ns == "default" ? fn.Metadata.Name : $"{ns}.{fn.Metadata.Name}";
        return $"arn:aws:lambda:{options.Value.Region}:{AccountId}:function:{display}:{alias}";
    }

    private sealed class State(Alias alias, AliasStatus status, ConditionManager conditions)
    {
        public Alias Alias => alias;

        public AliasStatus Status => status;

        public ConditionManager Conditions => conditions;

        public Function? Function { get; set; }
    }
}

/// <summary>The constant reasons of an Alias's conditions and Events.</summary>
public static class AliasReasons
{
    public const string FunctionNotFound = "FunctionNotFound";
    public const string VersionNotFound = "VersionNotFound";
    public const string InvalidWeights = "InvalidWeights";
    public const string VersionsResolved = "VersionsResolved";
}
