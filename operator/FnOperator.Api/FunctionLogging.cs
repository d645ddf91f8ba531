using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using FnOperator.Api.Schema;
using FnOperator.Contracts;

namespace FnOperator.Api;

/// <summary>A Function's log settings, Lambda's LoggingConfig (advanced logging controls).</summary>
[Description("Log format and levels, as Lambda's LoggingConfig. Log levels need logFormat JSON.")]
[CelRule("(has(self.logFormat) && self.logFormat == 'JSON') || (!has(self.applicationLogLevel) && !has(self.systemLogLevel))",
    "applicationLogLevel and systemLogLevel require logFormat JSON", FieldPath = ".logFormat", Reason = "FieldValueInvalid")]
public sealed class LoggingSpec
{
    [JsonPropertyName("logFormat")]
    [AllowedValues(FunctionLogging.Text, FunctionLogging.Json)]
    [Description("Text (Lambda's tab-separated lines, the default) or JSON (one JSON object a line); passed to the runtime as AWS_LAMBDA_LOG_FORMAT.")]
    public string? LogFormat { get; set; }

    [JsonPropertyName("applicationLogLevel")]
    [AllowedValues("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")]
    [Description("JSON format only: the lowest level of the function's own logs that is printed (default INFO); passed to the runtime as AWS_LAMBDA_LOG_LEVEL.")]
    public string? ApplicationLogLevel { get; set; }

    [JsonPropertyName("systemLogLevel")]
    [AllowedValues("DEBUG", "INFO", "WARN")]
    [Description("JSON format only: the lowest level of the platform's own log lines (default INFO). Accepted for compatibility with Lambda; the runtime-shim prints its START/END/REPORT lines as text at every level.")]
    public string? SystemLogLevel { get; set; }
}

/// <summary>What a Function's <see cref="LoggingSpec"/> means for its runtime, the same for the operator and local mode.</summary>
public static class FunctionLogging
{
    public const string Text = "Text";
    public const string Json = "JSON";

    /// <summary>Lambda's level when the format is JSON and no level is set.</summary>
    public const string DefaultLevel = "INFO";

    /// <summary>
    /// The runtime's log variables for <paramref name="logging"/>: none without spec.logging; AWS_LAMBDA_LOG_FORMAT when
    /// it is set; with JSON also AWS_LAMBDA_LOG_LEVEL (the application level, INFO by default). Text has no level, as in Lambda.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Variables(LoggingSpec? logging)
    {
        if (logging is null)
        {
            return [];
        }

        if (IsJson(logging))
        {
            return [new(LambdaVariables.LogFormat, Json), new(LambdaVariables.LogLevel, logging.ApplicationLogLevel ?? DefaultLevel)];
        }

        return [new(LambdaVariables.LogFormat, Text)];
    }

    /// <summary>The rule the CRD's CEL states, for callers without an API server (local mode): null when valid.</summary>
    public static string? Problem(LoggingSpec? logging) =>
        logging is not null && !IsJson(logging) && (logging.ApplicationLogLevel is not null || logging.SystemLogLevel is not null)
            ? "applicationLogLevel and systemLogLevel require logFormat JSON"
            : null;

    private static bool IsJson(LoggingSpec logging) => string.Equals(logging.LogFormat, Json, StringComparison.Ordinal);
}
