using FnOperator.Api;
using k8s.Models;

namespace FnOperator.Operator;

/// <summary>Condition helpers on <see cref="FunctionStatus"/>: set a condition, keeping its transition time when its status holds.</summary>
public static class FunctionStatusExtensions
{
    public static V1Condition? Condition(this FunctionStatus status, string type) =>
        status.Conditions?.FirstOrDefault(c => c.Type == type);

    public static void SetCondition(
        this FunctionStatus status, string type, string value, string reason, string message, long? generation, DateTimeOffset now)
    {
        status.Conditions ??= [];
        var existing = status.Condition(type);
        var transition = existing is not null && existing.Status == value ? existing.LastTransitionTime : now.UtcDateTime;
        status.Conditions.RemoveAll(c => c.Type == type);
        status.Conditions.Add(new V1Condition
        {
            Type = type,
            Status = value,
            Reason = reason,
            Message = message,
            ObservedGeneration = generation,
            LastTransitionTime = transition,
        });
        status.Conditions.Sort((a, b) => Order(a.Type).CompareTo(Order(b.Type)));
    }

    public static void MarkCodeReady(this FunctionStatus status, string sha256, long? generation, DateTimeOffset now)
    {
        status.CodeSha256 = sha256;
        status.SetCondition(FunctionReasons.CodeReady, "True", FunctionReasons.CodeResolved, "Code source resolved.", generation, now);
    }

    public static void MarkCodeFailed(this FunctionStatus status, string reason, string message, long? generation, DateTimeOffset now)
    {
        status.SetCondition(FunctionReasons.CodeReady, "False", reason, message, generation, now);
        status.MarkNotReady(reason, message, generation, now);
    }

    public static void MarkNotReady(this FunctionStatus status, string reason, string message, long? generation, DateTimeOffset now) =>
        status.SetCondition(FunctionReasons.Ready, "False", reason, message, generation, now);

    public static void MarkDeploying(this FunctionStatus status, string message, long? generation, DateTimeOffset now) =>
        status.SetCondition(FunctionReasons.Ready, "Unknown", FunctionReasons.Deploying, message, generation, now);

    public static void MarkReady(this FunctionStatus status, long? generation, DateTimeOffset now) =>
        status.SetCondition(FunctionReasons.Ready, "True", FunctionReasons.Deployed, "The current generation is rolled out.", generation, now);

    public static void MarkAvailable(this FunctionStatus status, string value, string reason, string message, long? generation, DateTimeOffset now) =>
        status.SetCondition(FunctionReasons.Available, value, reason, message, generation, now);

    public static bool IsReady(this Function fn) =>
        fn.Status?.ObservedGeneration == fn.Metadata.Generation &&
        fn.Status?.Condition(FunctionReasons.Ready)?.Status == "True";

    private static int Order(string type) => type switch
    {
        FunctionReasons.Ready => 0,
        FunctionReasons.CodeReady => 1,
        FunctionReasons.Available => 2,
        _ => 3,
    };
}
