using FnOperator.Api;
using FnOperator.Operator.Runtime;

namespace FnOperator.Operator.Tests.Runtime;

/// <summary>The generic condition set on any status: Ready derived, transition times kept, observed-generation discipline.</summary>
public sealed class ConditionSetTests
{
    private const string A = "AReady";
    private const string B = "BReady";
    private const string Info = "Informational";
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ConditionSet Set = ConditionSet.Living(A, B).WithInformational(Info);

    public static TheoryData<string, string?, string?, string, string> Derivations => new()
    {
        // a, b (null = never marked) → Ready status, Ready reason
        { "all dependents true", ConditionStatus.True, ConditionStatus.True, ConditionStatus.True, "BReason" },
        { "one false", ConditionStatus.True, ConditionStatus.False, ConditionStatus.False, "BReason" },
        { "false wins over unknown", ConditionStatus.False, ConditionStatus.Unknown, ConditionStatus.False, "AReason" },
        { "one unknown", ConditionStatus.Unknown, ConditionStatus.True, ConditionStatus.Unknown, "AReason" },
        { "one never marked", ConditionStatus.True, null, ConditionStatus.Unknown, ConditionReasons.NotReconciled },
    };

    [Theory]
    [MemberData(nameof(Derivations))]
    public void Ready_is_derived_from_the_dependent_conditions(string _, string? a, string? b, string ready, string reason)
    {
        var status = new TestStatus();
        var conditions = Set.Manage(status, 1, T0);

        Mark(conditions, A, a);
        Mark(conditions, B, b);

        Assert.Equal((ready, reason), (conditions.Get(ConditionTypes.Ready)!.Status, conditions.Get(ConditionTypes.Ready)!.Reason));
    }

    [Fact]
    public void Informational_conditions_do_not_affect_ready_and_conditions_keep_the_declared_order()
    {
        var status = new TestStatus();
        var conditions = Set.Manage(status, 1, T0);
        conditions.MarkFalse(Info, "ScaledToZero", "no pods");
        conditions.MarkTrue(B, "BReason", "b");
        conditions.MarkTrue(A, "AReason", "a");

        Assert.Equal(ConditionStatus.True, conditions.Get(ConditionTypes.Ready)!.Status);
        Assert.Equal([ConditionTypes.Ready, A, B, Info], status.Conditions!.Select(c => c.Type));
    }

    [Fact]
    public void Marking_leaves_the_list_the_status_started_with_as_it_was()
    {
        // A reconciler may start its status from a cached object's condition list: the cache must not change under it.
        var cached = new TestStatus();
        Set.Manage(cached, 1, T0).MarkTrue(A, "Fine", "cached");
        var cachedList = cached.Conditions!;
        var before = k8s.KubernetesJson.Serialize(cachedList);
        var status = new TestStatus { Conditions = cachedList, ObservedGeneration = cached.ObservedGeneration };

        var conditions = Set.Manage(status, 1, T0.AddMinutes(1));
        conditions.MarkFalse(A, "Broken", "now");
        conditions.MarkUnknown(Info, "Checking", "now");

        Assert.Equal(before, k8s.KubernetesJson.Serialize(cachedList));
        Assert.Equal(("Broken", ConditionStatus.False), (status.Conditions!.Single(c => c.Type == A).Reason, status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status));
    }

    [Fact]
    public void Transition_time_is_kept_while_a_status_holds_and_moves_when_it_changes()
    {
        var status = new TestStatus();
        Set.Manage(status, 1, T0).MarkUnknown(A, "Waiting", "first");
        Set.Manage(status, 1, T0.AddMinutes(1)).MarkUnknown(A, "StillWaiting", "second");

        Assert.Equal(T0.UtcDateTime, status.Conditions!.Single(c => c.Type == A).LastTransitionTime);
        Assert.Equal(("StillWaiting", "second"), (status.Conditions!.Single(c => c.Type == A).Reason, status.Conditions!.Single(c => c.Type == A).Message));
        Assert.Equal(T0.UtcDateTime, status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).LastTransitionTime);

        Set.Manage(status, 1, T0.AddMinutes(2)).MarkFalse(A, "Broken", "third");

        Assert.Equal(T0.AddMinutes(2).UtcDateTime, status.Conditions!.Single(c => c.Type == A).LastTransitionTime);
        Assert.Equal(T0.AddMinutes(2).UtcDateTime, status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).LastTransitionTime);
    }

    [Fact]
    public void A_condition_that_flips_and_flips_back_within_one_reconcile_keeps_its_transition_time()
    {
        var status = new TestStatus();
        var first = Set.Manage(status, 1, T0);
        first.MarkTrue(A, "AReason", "a");
        first.MarkTrue(B, "BReason", "b");

        var next = Set.Manage(status, 1, T0.AddMinutes(5));
        next.MarkUnknown(B, "Rechecking", "b"); // Ready Unknown for a moment
        next.MarkTrue(B, "BReason", "b");

        Assert.Equal(ConditionStatus.True, next.Get(ConditionTypes.Ready)!.Status);
        Assert.Equal(T0.UtcDateTime, next.Get(ConditionTypes.Ready)!.LastTransitionTime);
        Assert.Equal(T0.UtcDateTime, next.Get(B)!.LastTransitionTime);
    }

    [Fact]
    public void A_new_generation_makes_ready_unknown_until_it_is_reconciled_and_then_is_observed()
    {
        var status = new TestStatus();
        var first = Set.Manage(status, 1, T0);
        first.BeginGeneration();
        first.MarkTrue(A, "AReason", "a");
        first.MarkTrue(B, "BReason", "b");
        first.ObserveGeneration();
        Assert.True(first.IsReady);

        var second = Set.Manage(status, 2, T0.AddMinutes(1));
        Assert.False(second.IsReady); // Ready=True describes generation 1 only
        second.BeginGeneration();

        Assert.Equal((ConditionStatus.Unknown, ConditionReasons.NewGeneration), (second.Get(ConditionTypes.Ready)!.Status, second.Get(ConditionTypes.Ready)!.Reason));
        Assert.Equal(1, status.ObservedGeneration);

        second.MarkTrue(B, "BReason", "b");
        second.ObserveGeneration();

        Assert.Equal(2, status.ObservedGeneration);
        Assert.True(second.IsReady);
        Assert.All(status.Conditions!.Where(c => c.Type != A), c => Assert.Equal(2, c.ObservedGeneration));
    }

    [Fact]
    public void Beginning_a_generation_adds_missing_dependents_as_unknown_and_keeps_ready_of_an_observed_one()
    {
        var status = new TestStatus { ObservedGeneration = 3 };
        var conditions = Set.Manage(status, 3, T0);

        conditions.BeginGeneration();

        Assert.Equal([A, B], status.Conditions!.Select(c => c.Type));
        Assert.All(status.Conditions!, c => Assert.Equal((ConditionStatus.Unknown, ConditionReasons.NotReconciled), (c.Status, c.Reason)));
    }

    [Fact]
    public void Reconciling_an_observed_generation_again_keeps_ready_and_its_transition_time()
    {
        var status = new TestStatus();
        var first = Set.Manage(status, 4, T0);
        first.BeginGeneration();
        first.MarkTrue(A, "AReason", "a");
        first.MarkTrue(B, "BReason", "b");
        first.ObserveGeneration();

        var again = Set.Manage(status, 4, T0.AddMinutes(10)); // a resync or a watched object, same generation
        again.BeginGeneration();

        Assert.True(again.IsReady);
        Assert.Equal((ConditionStatus.True, "BReason", T0.UtcDateTime),
            (again.Get(ConditionTypes.Ready)!.Status, again.Get(ConditionTypes.Ready)!.Reason, again.Get(ConditionTypes.Ready)!.LastTransitionTime));
    }

    [Theory]
    [InlineData(RetryClass.Terminal, ConditionStatus.False, ReconcileOutcome.Terminal)]
    [InlineData(RetryClass.AfterDependency, ConditionStatus.False, ReconcileOutcome.RequeueAfter)]
    [InlineData(RetryClass.Retry, ConditionStatus.Unknown, ReconcileOutcome.Error)]
    public void A_problem_marks_its_condition_and_its_retry_class_decides_the_result(RetryClass retry, string condition, ReconcileOutcome outcome)
    {
        var status = new TestStatus();
        var conditions = Set.Manage(status, 1, T0);
        var problem = new Problem(A, "Missing", "not there", retry);

        conditions.Mark(problem);
        var result = problem.ToResult(TimeSpan.FromSeconds(30));

        Assert.Equal((condition, "Missing"), (conditions.Get(A)!.Status, conditions.Get(A)!.Reason));
        Assert.Equal((condition, "Missing"), (conditions.Get(ConditionTypes.Ready)!.Status, conditions.Get(ConditionTypes.Ready)!.Reason));
        Assert.Equal(outcome, result.Outcome);
    }

    private static void Mark(ConditionManager conditions, string type, string? value)
    {
        var reason = type == A ? "AReason" : "BReason";
        switch (value)
        {
            case ConditionStatus.True:
                conditions.MarkTrue(type, reason, "m");
                break;
            case ConditionStatus.False:
                conditions.MarkFalse(type, reason, "m");
                break;
            case ConditionStatus.Unknown:
                conditions.MarkUnknown(type, reason, "m");
                break;
        }
    }

    private sealed class TestStatus : IConditionedStatus
    {
        public List<k8s.Models.V1Condition>? Conditions { get; set; }

        public long? ObservedGeneration { get; set; }
    }
}
