using FnOperator.Api;

namespace FnOperator.Operator.Runtime;

/// <summary>The three values of a condition's status; the only place they are spelled.</summary>
public static class ConditionStatus
{
    public const string True = "True";
    public const string False = "False";
    public const string Unknown = "Unknown";
}

/// <summary>Condition types every kind shares.</summary>
public static class ConditionTypes
{
    /// <summary>The top-level condition, derived from a kind's dependent conditions.</summary>
    public const string Ready = "Ready";
}

/// <summary>Reasons the framework itself writes.</summary>
public static class ConditionReasons
{
    /// <summary>Ready while a new generation is being reconciled.</summary>
    public const string NewGeneration = "NewGeneration";

    /// <summary>A dependent condition that no phase has looked at yet.</summary>
    public const string NotReconciled = "NotReconciled";
}

/// <summary>
/// A kind's conditions, declared once (Knative's apis.ConditionSet): Ready is derived from the dependent conditions
/// (False if any is False, Unknown if any is Unknown or missing, True when all are True); informational conditions
/// are kept in order but do not affect Ready. <see cref="Manage"/> gives the helper a reconcile marks conditions with.
/// </summary>
public sealed class ConditionSet
{
    private ConditionSet(IReadOnlyList<string> dependents, IReadOnlyList<string> informational)
    {
        Dependents = dependents;
        Informational = informational;
    }

    public IReadOnlyList<string> Dependents { get; }

    public IReadOnlyList<string> Informational { get; }

    /// <summary>A long-running kind's set: Ready derived from <paramref name="dependents"/>.</summary>
    public static ConditionSet Living(params string[] dependents) => new(dependents, []);

    /// <summary>The same set with conditions that are reported but do not make the object unready.</summary>
    public ConditionSet WithInformational(params string[] types) => new(Dependents, [.. Informational, .. types]);

    public bool IsDependent(string type) => Dependents.Contains(type, StringComparer.Ordinal);

    /// <summary>The manager of <paramref name="status"/> for one reconcile of <paramref name="generation"/> at <paramref name="now"/>.</summary>
    public ConditionManager Manage(IConditionedStatus status, long? generation, DateTimeOffset now) => new(this, status, generation, now);

    /// <summary>Sort position: Ready, dependents in declaration order, informational, then anything else.</summary>
    internal int Order(string type)
    {
        if (type == ConditionTypes.Ready)
        {
            return 0;
        }

        var dependent = Dependents.IndexOf(type);
        if (dependent >= 0)
        {
            return 1 + dependent;
        }

        var informational = Informational.IndexOf(type);
        return informational >= 0 ? 1 + Dependents.Count + informational : int.MaxValue;
    }
}

internal static class ListExtensions
{
    public static int IndexOf(this IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
