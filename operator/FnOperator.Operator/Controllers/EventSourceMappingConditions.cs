using FnOperator.Operator.Runtime;

namespace FnOperator.Operator.Controllers;

/// <summary>Condition types of an EventSourceMapping: Ready = FunctionReady ∧ SourceReady.</summary>
public static class EventSourceMappingConditions
{
    public const string FunctionReady = "FunctionReady";
    public const string SourceReady = "SourceReady";

    public static ConditionSet Set { get; } = ConditionSet.Living(FunctionReady, SourceReady);
}

/// <summary>Reasons of EventSourceMapping conditions and Events.</summary>
public static class EventSourceMappingReasons
{
    public const string FunctionFound = "FunctionFound";
    public const string FunctionNotFound = "FunctionNotFound";
    public const string InvokeDenied = "InvokeDenied";
    public const string InvalidFilter = "InvalidFilter";
    public const string InvalidSource = "InvalidSource";
    public const string Polling = "Polling";
    public const string Connecting = "Connecting";
    public const string Disabled = "Disabled";
    public const string SourceUnreachable = "SourceUnreachable";
    public const string AuthFailed = "AuthFailed";
    public const string SourceConnected = "SourceConnected";
    public const string RecordsDiscarded = "RecordsDiscarded";
}

/// <summary>Lambda's EventSourceMapping State values.</summary>
public static class EventSourceMappingStates
{
    public const string Creating = "Creating";
    public const string Enabled = "Enabled";
    public const string Disabled = "Disabled";
    public const string Updating = "Updating";
}
