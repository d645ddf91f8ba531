using System.Net;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Tests.Hosting.Gadgets;

/// <summary>
/// The whole controller of the extra kind: one file. Phases: the source ConfigMap exists (SourceReady) → the child
/// ConfigMap is created or brought back to {greeting, value} (ChildReady). Ready is derived by the condition set.
/// </summary>
public sealed class GadgetReconciler(
    Informer<Gadget> gadgets, Informer<V1ConfigMap> configMaps, IKubernetes client, StatusWriter statusWriter,
    IEventRecorder events, IOptions<OperatorOptions> options, TimeProvider time) : IReconciler
{
    /// <summary>Index of the Gadget cache: the key of the source ConfigMap a Gadget reads.</summary>
    public const string BySource = "source";

    public const string SourceReady = "SourceReady";
    public const string ChildReady = "ChildReady";

    public static ConditionSet Conditions { get; } = ConditionSet.Living(SourceReady, ChildReady);

    public string Kind => "Gadget";

    public static IEnumerable<string> SourceKeys(Gadget gadget) => [new ObjectKey(gadget.Metadata.NamespaceProperty, gadget.Spec.Source).ToString()];

    public static string ChildName(Gadget gadget) => gadget.Metadata.Name + "-child";

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        if (gadgets.Get(key) is not { Metadata.DeletionTimestamp: null } gadget)
        {
            return ReconcileResult.Done;
        }

        var status = new GadgetStatus { Conditions = gadget.Status?.Conditions, ObservedGeneration = gadget.Status?.ObservedGeneration };
        var conditions = Conditions.Manage(status, gadget.Metadata.Generation, time.GetUtcNow());
        conditions.BeginGeneration();
        var state = new State(gadget, status, conditions);
        var failed = await Phases.RunAsync(
            state, [FindSourceAsync, EnsureChildAsync], conditions, p => events.Record(gadget, EventType.Warning, p.Reason, p.Message),
            options.Value.DependencyRetry, cancellationToken);
        conditions.ObserveGeneration();
        return await statusWriter.WriteAsync(gadget, status, cancellationToken) ? failed ?? ReconcileResult.Done : ReconcileResult.Conflict("Gadget changed");
    }

    private Task<Problem?> FindSourceAsync(State state, CancellationToken cancellationToken)
    {
        var source = configMaps.Get(new ObjectKey(state.Gadget.Metadata.NamespaceProperty, state.Gadget.Spec.Source));
        if (source is null)
        {
            return Task.FromResult<Problem?>(Problem.AfterDependency(SourceReady, "SourceNotFound", $"ConfigMap {state.Gadget.Spec.Source} does not exist."));
        }

        state.Value = source.Data is { } d && d.TryGetValue("value", out var v) ? v : "";
        state.Conditions.MarkTrue(SourceReady, "SourceFound", "Source read.");
        return Task.FromResult<Problem?>(null);
    }

    private async Task<Problem?> EnsureChildAsync(State state, CancellationToken cancellationToken)
    {
        var gadget = state.Gadget;
        var ns = gadget.Metadata.NamespaceProperty;
        var data = new Dictionary<string, string> { ["greeting"] = gadget.Spec.Greeting, ["value"] = state.Value };
        var existing = configMaps.Get(new ObjectKey(ns, ChildName(gadget)));
        try
        {
            if (existing is null)
            {
                await client.CoreV1.CreateNamespacedConfigMapAsync(Child(gadget, data), ns, cancellationToken: cancellationToken);
                events.Record(gadget, EventType.Normal, "CreatedConfigMap", $"Created ConfigMap {ChildName(gadget)}");
            }
            else if (existing.Data is null || !data.All(p => existing.Data.TryGetValue(p.Key, out var v) && v == p.Value))
            {
                var desired = Child(gadget, data);
                desired.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
                await client.CoreV1.ReplaceNamespacedConfigMapAsync(desired, desired.Metadata.Name, ns, cancellationToken: cancellationToken);
                events.Record(gadget, EventType.Normal, "UpdatedConfigMap", $"Updated ConfigMap {ChildName(gadget)}");
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            return Problem.Transient(ChildReady, "ChildConflict", "The child ConfigMap changed meanwhile.");
        }

        state.Status.Child = ChildName(gadget);
        state.Conditions.MarkTrue(ChildReady, "ChildUpToDate", "Child ConfigMap up to date.");
        return null;
    }

    private static V1ConfigMap Child(Gadget gadget, Dictionary<string, string> data) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = ChildName(gadget),
            NamespaceProperty = gadget.Metadata.NamespaceProperty,
            OwnerReferences = [new V1OwnerReference { ApiVersion = gadget.ApiVersion, Kind = gadget.Kind, Name = gadget.Metadata.Name, Uid = gadget.Metadata.Uid, Controller = true }],
        },
        Data = data,
    };

    private sealed class State(Gadget gadget, GadgetStatus status, ConditionManager conditions)
    {
        public Gadget Gadget => gadget;

        public GadgetStatus Status => status;

        public ConditionManager Conditions => conditions;

        public string Value { get; set; } = "";
    }
}
