using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer.Validation;

/// <summary>The kinds of field errors Kubernetes reports (k8s.io/apimachinery/pkg/util/validation/field).</summary>
public enum FieldErrorType
{
    Invalid,
    Required,
    NotSupported,
    TooLong,
    TooMany,
    TypeInvalid,
    Forbidden,
    Duplicate,
}

/// <summary>One validation failure, rendered with the real apiserver's wording.</summary>
public sealed record FieldError(FieldErrorType Type, string Field, string Body)
{
    /// <summary>The cause reason in a Status object's details ("FieldValueInvalid", ...).</summary>
    public string Reason => Type switch
    {
        FieldErrorType.Required => "FieldValueRequired",
        FieldErrorType.NotSupported => "FieldValueNotSupported",
        FieldErrorType.TooLong => "FieldValueTooLong",
        FieldErrorType.TooMany => "FieldValueTooMany",
        FieldErrorType.TypeInvalid => "FieldValueTypeInvalid",
        FieldErrorType.Forbidden => "FieldValueForbidden",
        FieldErrorType.Duplicate => "FieldValueDuplicate",
        _ => "FieldValueInvalid",
    };

    public override string ToString() => $"{Field}: {Body}";

    public static FieldError Invalid(string field, JsonNode? value, string detail) => new(FieldErrorType.Invalid, field, $"Invalid value: {Format(value)}: {detail}");

    public static FieldError Invalid(string field, string typeName, string detail) => new(FieldErrorType.Invalid, field, $"Invalid value: \"{typeName}\": {detail}");

    public static FieldError TypeInvalid(string field, JsonNode? value, string detail) => new(FieldErrorType.TypeInvalid, field, $"Invalid value: {Format(value)}: {detail}");

    public static FieldError Required(string field, string? detail = null) => new(FieldErrorType.Required, field, detail is null ? "Required value" : $"Required value: {detail}");

    public static FieldError Forbidden(string field, string detail) => new(FieldErrorType.Forbidden, field, $"Forbidden: {detail}");

    public static FieldError NotSupported(string field, JsonNode? value, IEnumerable<JsonNode?> supported) =>
        new(FieldErrorType.NotSupported, field, $"Unsupported value: {Format(value)}: supported values: {string.Join(", ", supported.Select(Format))}");

    public static FieldError TooLong(string field, long max) => new(FieldErrorType.TooLong, field, $"Too long: may not be more than {max} bytes");

    public static FieldError TooMany(string field, long actual, long max) => new(FieldErrorType.TooMany, field, $"Too many: {actual}: must have at most {max} items");

    public static FieldError Duplicate(string field, JsonNode? value) => new(FieldErrorType.Duplicate, field, $"Duplicate value: {Format(value)}");

    /// <summary>Values as Go's field errors print them: strings quoted, numbers and booleans bare, null as null.</summary>
    public static string Format(JsonNode? value) => value switch
    {
        null => "\"null\"",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => JsonSerializer.Serialize(v.GetValue<string>()),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => FormatNumber(v),
        JsonValue v => v.ToJsonString(),
        _ => value.ToJsonString(),
    };

    private static string FormatNumber(JsonValue v) =>
        v.TryGetValue<long>(out var l) ? l.ToString(CultureInfo.InvariantCulture) : v.GetValue<double>().ToString(CultureInfo.InvariantCulture);
}
