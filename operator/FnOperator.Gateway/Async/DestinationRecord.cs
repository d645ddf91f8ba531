using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Contracts;

namespace FnOperator.Gateway.Async;

/// <summary>Lambda's invocation record, sent to OnSuccess/OnFailure destinations and dead-letter queues.</summary>
public static class DestinationRecord
{
    public const string Success = "Success";
    public const string RetriesExhausted = "RetriesExhausted";
    public const string EventAgeExceeded = "EventAgeExceeded";

    /// <param name="invocation">The invocation (its payload is the request payload).</param>
    /// <param name="functionArn">Unqualified function ARN; the executed version is appended.</param>
    /// <param name="condition">Success, RetriesExhausted or EventAgeExceeded.</param>
    /// <param name="invokeCount">Attempts made.</param>
    /// <param name="lastResult">The last attempt's result, or null when none ran.</param>
    /// <param name="now">Record timestamp.</param>
    public static byte[] Build(Invocation invocation, string functionArn, string condition, int invokeCount,
        InvocationResult? lastResult, DateTimeOffset now)
    {
        var record = new JsonObject
        {
            ["version"] = "1.0",
            ["timestamp"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["requestContext"] = new JsonObject
            {
                ["requestId"] = invocation.RequestId,
                ["functionArn"] = $"{functionArn}:{lastResult?.ExecutedVersion ?? invocation.Version}",
                ["condition"] = condition,
                ["approximateInvokeCount"] = invokeCount,
            },
            ["requestPayload"] = AsJson(invocation.Payload),
        };
        if (lastResult is not null)
        {
            var response = new JsonObject
            {
                ["statusCode"] = 200,
                ["executedVersion"] = lastResult.ExecutedVersion,
            };
            if (lastResult.FunctionError is not null)
            {
                response["functionError"] = lastResult.FunctionError;
            }

            record["responseContext"] = response;
            record["responsePayload"] = AsJson(lastResult.Payload);
        }

        return Encoding.UTF8.GetBytes(record.ToJsonString());
    }

    /// <summary>The payload as a JSON node: parsed when it is JSON, else as a string; null when empty.</summary>
    private static JsonNode? AsJson(byte[] payload)
    {
        if (payload.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(payload);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create(Encoding.UTF8.GetString(payload));
        }
    }
}
