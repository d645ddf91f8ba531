using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FnOperator.DotnetBootstrap;

/// <summary>A handler that cannot be loaded (Lambda's .NET runtime reports these as LambdaValidationException).</summary>
public sealed class LambdaValidationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// An error as Lambda's .NET runtime posts it: errorType (the exception type's name), errorMessage, stackTrace (one
/// entry per frame), cause (the inner exception) and causes (an AggregateException's inner exceptions).
/// </summary>
public sealed record ErrorDocument
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    [JsonPropertyName("errorType")]
    public required string ErrorType { get; init; }

    [JsonPropertyName("errorMessage")]
    public required string ErrorMessage { get; init; }

    [JsonPropertyName("stackTrace")]
    public IReadOnlyList<string>? StackTrace { get; init; }

    [JsonPropertyName("cause")]
    public ErrorDocument? Cause { get; init; }

    [JsonPropertyName("causes")]
    public IReadOnlyList<ErrorDocument>? Causes { get; init; }

    public static ErrorDocument From(Exception exception)
    {
        var e = Unwrap(exception);
        return new ErrorDocument
        {
            ErrorType = e.GetType().Name,
            ErrorMessage = e.Message,
            StackTrace = UserFrames(e.StackTrace),
            Cause = e is AggregateException || e.InnerException is null ? null : From(e.InnerException),
            Causes = e is AggregateException aggregate ? [.. aggregate.InnerExceptions.Select(From)] : null,
        };
    }

    /// <summary>The user's own exception, not reflection's wrapper around it.</summary>
    public static Exception Unwrap(Exception exception)
    {
        while (exception is TargetInvocationException { InnerException: { } inner })
        {
            exception = inner;
        }

        return exception;
    }

    /// <summary>The function's frames: the bootstrap's own, reflection's and the async rethrow markers are left out.</summary>
    private static string[]? UserFrames(string? stackTrace) =>
        stackTrace?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith("at ", StringComparison.Ordinal)
                && !RuntimeFrames.Any(prefix => line.StartsWith(prefix, StringComparison.Ordinal)))
            .ToArray();

    private static readonly string[] RuntimeFrames =
        ["at FnOperator.DotnetBootstrap.", "at Program.<Main>$", "at Program.<<Main>$>", "at System.Reflection.", "at System.RuntimeMethodHandle.", "at InvokeStub_"];

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public string ToJsonString() => JsonSerializer.Serialize(this, Json);
}
