using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation;

namespace FnOperator.KubeApiServer;

/// <summary>
/// The real server's Event validation (pkg/apis/core/validation/events.go), on the JSON of either API. core/v1 keeps
/// the legacy rules only: the namespace must match involvedObject's, and an Event with eventTime needs
/// reportingComponent, reportingInstance, action and reason (length limits 128/128/128, message 1024).
/// events.k8s.io/v1 adds the strict rules: eventTime required, type Normal or Warning, the deprecated fields unset,
/// series.count at least 2; and on update, what an Event reports is immutable (only series and metadata change).
/// </summary>
internal static class EventValidation
{
    private const int ShortLimit = 128;
    private const int NoteLimit = 1024;

    public static IEnumerable<FieldError> Validate(string group, JsonObject obj, JsonObject? old)
    {
        var strict = group == "events.k8s.io";
        var ns = (string?)obj["metadata"]?["namespace"] ?? "";
        var regardingField = strict ? "regarding" : "involvedObject";
        var regardingNs = (string?)obj[regardingField]?["namespace"] ?? "";
        var hasEventTime = obj["eventTime"] is JsonValue;
        if (!hasEventTime ? (regardingNs.Length == 0 ? ns is not ("" or "default") : ns != regardingNs)
                          : regardingNs.Length == 0 && ns is not ("default" or "kube-system"))
        {
            yield return FieldError.Invalid($"{regardingField}.namespace", regardingNs, "does not match event.namespace");
        }

        var messageField = strict ? "note" : "message";
        if (hasEventTime || strict)
        {
            foreach (var error in Required(obj, strict ? "reportingController" : "reportingComponent", ShortLimit, required: hasEventTime))
            {
                yield return error;
            }

            foreach (var field in new[] { "reportingInstance", "action", "reason" })
            {
                foreach (var error in Required(obj, field, ShortLimit, required: hasEventTime))
                {
                    yield return error;
                }
            }

            if (((string?)obj[messageField])?.Length > NoteLimit)
            {
                yield return FieldError.Invalid(messageField, "", $"can have at most {NoteLimit} characters");
            }
        }

        if (!strict)
        {
            yield break;
        }

        if (!hasEventTime)
        {
            yield return FieldError.Required("eventTime");
        }

        if ((string?)obj["type"] is not ("Normal" or "Warning"))
        {
            yield return FieldError.Invalid("type", "", $"has invalid value: {(string?)obj["type"]}");
        }

        foreach (var deprecated in new[] { "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount", "deprecatedSource" })
        {
            if (old is null && obj[deprecated] is not null and not JsonObject { Count: 0 })
            {
                yield return FieldError.Invalid(deprecated, "", "needs to be unset");
            }
        }

        if (obj["series"] is JsonObject series && (!series.TryGetPropertyValue("count", out var count) || (long?)count < 2))
        {
            yield return FieldError.Invalid("series.count", "", "should be at least 2");
        }

        foreach (var immutable in old is null ? [] : new[] { "regarding", "related", "reason", "note", "type", "action", "reportingController", "reportingInstance", "eventTime" })
        {
            if (!JsonNode.DeepEquals(obj[immutable], old![immutable]))
            {
                yield return FieldError.Invalid(immutable, obj[immutable]?.DeepClone(), "field is immutable");
            }
        }
    }

    private static IEnumerable<FieldError> Required(JsonObject obj, string field, int limit, bool required)
    {
        var value = (string?)obj[field] ?? "";
        if (value.Length == 0 && required)
        {
            yield return FieldError.Required(field);
        }
        else if (value.Length > limit)
        {
            yield return FieldError.Invalid(field, "", $"can have at most {limit} characters");
        }
    }
}
