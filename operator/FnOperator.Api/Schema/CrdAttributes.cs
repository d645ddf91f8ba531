namespace FnOperator.Api.Schema;

// Attributes the CRD generator (operator/FnOperator.CrdGen, `make crds`) reads from the model types, next to
// System.ComponentModel [Description]/[DefaultValue] and System.ComponentModel.DataAnnotations [Required], [Range],
// [MinLength], [MaxLength], [RegularExpression] and [AllowedValues].

/// <summary>Marks a root model type as a custom resource and gives its names.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class CustomResourceAttribute(string kind, string plural, string shortName) : Attribute
{
    public string Kind { get; } = kind;
    public string Plural { get; } = plural;
    public string ShortName { get; } = shortName;

    /// <summary>Lower-case singular name; the kind in lower case when not set.</summary>
    public string? Singular { get; init; }
}

/// <summary>An additional printer column for <c>kubectl get</c>, in declaration order.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class PrinterColumnAttribute(int order, string name, string type, string jsonPath, string description) : Attribute
{
    public int Order { get; } = order;
    public string Name { get; } = name;
    public string Type { get; } = type;
    public string JsonPath { get; } = jsonPath;
    public string Description { get; } = description;

    /// <summary>0 shows the column in the default view; higher priorities only with <c>-o wide</c>.</summary>
    public int Priority { get; init; }
}

/// <summary>
/// A CEL validation rule (x-kubernetes-validations) on the schema of the class or property it is placed on.
/// Rules must stay inside the CEL subset the project's API test server evaluates (see docs/crds.md).
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, AllowMultiple = true, Inherited = false)]
public sealed class CelRuleAttribute(string rule, string message) : Attribute
{
    public string Rule { get; } = rule;
    public string Message { get; } = message;

    /// <summary>Optional JSONPath-like field the error is reported on, relative to the rule's schema (e.g. <c>.sha256</c>).</summary>
    public string? FieldPath { get; init; }

    /// <summary>Optional machine-readable reason: FieldValueInvalid (default), FieldValueForbidden, FieldValueRequired, FieldValueDuplicate.</summary>
    public string? Reason { get; init; }
}

/// <summary>The property holds free-form JSON: the schema keeps unknown fields (x-kubernetes-preserve-unknown-fields).</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class PreserveUnknownFieldsAttribute : Attribute;

/// <summary>The property accepts an integer or a string (x-kubernetes-int-or-string), such as a port or a percentage.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class IntOrStringAttribute : Attribute;

/// <summary>The list is a map keyed by the given item fields (x-kubernetes-list-type: map); duplicate keys are rejected.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class ListMapKeysAttribute(params string[] keys) : Attribute
{
    public IReadOnlyList<string> Keys { get; } = keys;
}

/// <summary>The maxLength of each string item of a list property (a bound CEL cost estimation needs).</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class ItemMaxLengthAttribute(int length) : Attribute
{
    public int Length { get; } = length;
}

/// <summary>Bounds on the number of entries of a map property (minProperties / maxProperties).</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class MapSizeAttribute(int min, int max) : Attribute
{
    public int Min { get; } = min;
    public int Max { get; } = max;
}

/// <summary>The schema format of a string property, e.g. <c>date-time</c> or <c>uri</c>.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class FormatAttribute(string format) : Attribute
{
    public string Format { get; } = format;
}
