using FnOperator.Api;
using FnOperator.EventSources;
using FnOperator.Operator.Runtime;
using k8s;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Reconciles an EventSourceMapping's status (the only writer of it): validate (filters) → function exists → source
/// (from what the leader's poller reports through <see cref="EventSourceMappingRuntime"/>) → state, lastProcessingResult,
/// lastProcessedAt. The poller itself is the leader worker <see cref="EventSourceMappingWorker"/>. An enabled mapping
/// is looked at again every <see cref="StatusInterval"/> so its status follows the poller.
/// </summary>
public sealed class EventSourceMappingReconciler(
    Informer<EventSourceMapping> mappings, Informer<Function> functions, EventSourceMappingRuntime runtime,
    StatusWriter statusWriter, IEventRecorder events, IOptions<OperatorOptions> options, TimeProvider time) : IReconciler
{
    /// <summary>The index of mappings by the <c>namespace/function</c> they invoke (a Function appearing re-enqueues them).</summary>
    public const string ByFunction = "esm-by-function";

    public static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(10);

    public string Kind => EventSourceMapping.KindName;

    public static IEnumerable<string> FunctionKeys(EventSourceMapping m) =>
        [new ObjectKey(m.Metadata.NamespaceProperty ?? "", EventSourceMappingWorker.FunctionName(m)).ToString()];

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var mapping = mappings.Get(key);
        if (mapping is null || mapping.Metadata.DeletionTimestamp is not null)
        {
            runtime.Remove(key);
            return ReconcileResult.Done; // checkpoints and consumers stay in the source, as Lambda leaves the queue alone
        }

        var status = KubernetesJson.Deserialize<EventSourceMappingStatus>(KubernetesJson.Serialize(mapping.Status ?? new EventSourceMappingStatus()));
        var conditions = EventSourceMappingConditions.Set.Manage(status, mapping.Metadata.Generation, time.GetUtcNow());
        conditions.BeginGeneration();
        var state = new State(mapping, status, conditions, runtime.Get(key, mapping.Metadata.Generation ?? 0));
        var failed = await Phases.RunAsync(
            state, [ValidateAsync, FunctionAsync, SourceAsync], conditions, p => events.Record(mapping, EventType.Warning, p.Reason, p.Message),
            options.Value.DependencyRetry, cancellationToken).ConfigureAwait(false);
        status.State = !mapping.Spec.Enabled ? EventSourceMappingStates.Disabled
            : state.Poller?.Connected == true ? EventSourceMappingStates.Enabled
            : status.ObservedGeneration is null ? EventSourceMappingStates.Creating : EventSourceMappingStates.Updating;
        if (state.Poller is { LastResult: { } result })
        {
            status.LastProcessingResult = result;
            status.LastProcessedAt = state.Poller.LastProcessedAt?.UtcDateTime;
        }

        conditions.ObserveGeneration();
        var written = await statusWriter.WriteAsync(mapping, status, cancellationToken).ConfigureAwait(false);
        if (!written)
        {
            return ReconcileResult.Conflict("EventSourceMapping changed while its status was written.");
        }

        if (failed is { Outcome: ReconcileOutcome.Terminal })
        {
            return failed;
        }

        // An enabled mapping follows its poller (and a missing Function or source) every StatusInterval.
        return mapping.Spec.Enabled ? ReconcileResult.After(StatusInterval) : failed ?? ReconcileResult.Done;
    }

    private static Task<Problem?> ValidateAsync(State s, CancellationToken cancellationToken)
    {
        try
        {
            _ = new RecordFilter(s.Mapping.Spec.FilterCriteria?.Filters?.Select(f => f.Pattern), stream: s.Mapping.Spec.Source.Stream is not null);
            if (s.Mapping.Spec.Source.Schedule is { } schedule)
            {
                _ = FnOperator.EventSources.Schedules.Schedule.Parse(schedule.Expression, schedule.Timezone, DateTimeOffset.UnixEpoch);
            }

            return Task.FromResult<Problem?>(null);
        }
        catch (FormatException e)
        {
            return Task.FromResult<Problem?>(Problem.Terminal(EventSourceMappingConditions.SourceReady, EventSourceMappingReasons.InvalidSource, e.Message));
        }
        catch (FilterPatternException e)
        {
            return Task.FromResult<Problem?>(Problem.Terminal(EventSourceMappingConditions.SourceReady, EventSourceMappingReasons.InvalidFilter, e.Message));
        }
    }

    private Task<Problem?> FunctionAsync(State s, CancellationToken cancellationToken)
    {
        var name = EventSourceMappingWorker.FunctionName(s.Mapping);
        if (functions.Get(new ObjectKey(s.Mapping.Metadata.NamespaceProperty ?? "", name)) is null)
        {
            return Task.FromResult<Problem?>(Problem.AfterDependency(EventSourceMappingConditions.FunctionReady, EventSourceMappingReasons.FunctionNotFound, $"Function {name} not found"));
        }

        if (s.Poller?.InvokeDenied is { } denied)
        {
            // The gateway (invokeAuth required) refused the operator's ServiceAccount token: the chart's invoke grant
            // (operator.invokeGrant) is missing or narrowed. The poller holds the batch and retries.
            return Task.FromResult<Problem?>(Problem.AfterDependency(EventSourceMappingConditions.FunctionReady, EventSourceMappingReasons.InvokeDenied,
                $"the gateway refused the operator's invoke of {name}: {denied}"));
        }

        s.Conditions.MarkTrue(EventSourceMappingConditions.FunctionReady, EventSourceMappingReasons.FunctionFound, "");
        return Task.FromResult<Problem?>(null);
    }

    private static Task<Problem?> SourceAsync(State s, CancellationToken cancellationToken)
    {
        var c = s.Conditions;
        const string Type = EventSourceMappingConditions.SourceReady;
        if (!s.Mapping.Spec.Enabled)
        {
            c.MarkFalse(Type, EventSourceMappingReasons.Disabled, "enabled is false: not polling; the position is kept");
        }
        else if (s.Poller?.Error is { } e)
        {
            var reason = e.Failure switch
            {
                SourceFailure.AuthFailed => EventSourceMappingReasons.AuthFailed,
                SourceFailure.Invalid => EventSourceMappingReasons.InvalidSource,
                _ => EventSourceMappingReasons.SourceUnreachable,
            };
            return Task.FromResult<Problem?>(Problem.AfterDependency(Type, reason, e.Message));
        }
        else if (s.Poller?.Connected == true)
        {
            c.MarkTrue(Type, EventSourceMappingReasons.Polling, "");
        }
        else
        {
            c.MarkUnknown(Type, EventSourceMappingReasons.Connecting, "the poller is connecting to the source");
        }

        return Task.FromResult<Problem?>(null);
    }

    private sealed record State(EventSourceMapping Mapping, EventSourceMappingStatus Status, ConditionManager Conditions, PollerState? Poller);
}
