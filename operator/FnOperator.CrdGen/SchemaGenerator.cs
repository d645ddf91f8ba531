using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FnOperator.Api.Schema;
using k8s.Models;

namespace FnOperator.CrdGen;

/// <summary>
/// Builds OpenAPI v3 schemas from model types by reflection. Properties are taken in declaration order and named by
/// [JsonPropertyName]; every property must carry a [Description]. [Range], [MinLength]/[MaxLength] (strings: length,
/// lists: items), [RegularExpression], [AllowedValues], [DefaultValue], [Required] and the attributes in
/// FnOperator.Api.Schema map to their schema keywords. On a dictionary, [Range] bounds the values and [MapSize] the entries.
/// </summary>
public static class SchemaGenerator
{
    /// <summary>The schema of an object type: its properties, required list and class-level CEL rules.</summary>
    public static V1JSONSchemaProps ForObject(Type type, string? description = null)
    {
        var schema = new V1JSONSchemaProps
        {
            Type = "object",
            Description = description ?? DescriptionOf(type) ?? throw new InvalidOperationException($"{type.Name} has no [Description]."),
            Properties = new Dictionary<string, V1JSONSchemaProps>(),
        };
        var required = new List<string>();
        foreach (var property in PropertiesOf(type))
        {
            var name = JsonName(property);
            schema.Properties[name] = ForProperty(property);
            if (property.GetCustomAttribute<RequiredAttribute>() is not null)
            {
                required.Add(name);
            }
        }

        if (required.Count > 0)
        {
            schema.Required = required;
        }

        AddRules(schema, type.GetCustomAttributes<CelRuleAttribute>());
        return schema;
    }

    /// <summary>Public instance properties with [JsonPropertyName], in declaration order.</summary>
    public static IEnumerable<PropertyInfo> PropertiesOf(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<JsonPropertyNameAttribute>() is not null && p.GetCustomAttribute<JsonIgnoreAttribute>() is null)
            .OrderBy(p => p.MetadataToken);

    public static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? throw new InvalidOperationException($"{property.Name} has no [JsonPropertyName].");

    private static string? DescriptionOf(MemberInfo member) => member.GetCustomAttribute<DescriptionAttribute>()?.Description;

    private static V1JSONSchemaProps ForProperty(PropertyInfo property)
    {
        var where = $"{property.DeclaringType?.Name}.{property.Name}";
        var description = DescriptionOf(property) ?? throw new InvalidOperationException($"{where} has no [Description].");
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;

        V1JSONSchemaProps schema;
        if (property.GetCustomAttribute<PreserveUnknownFieldsAttribute>() is not null)
        {
            schema = new V1JSONSchemaProps { Description = description, XKubernetesPreserveUnknownFields = true };
        }
        else if (property.GetCustomAttribute<IntOrStringAttribute>() is not null)
        {
            schema = new V1JSONSchemaProps { Description = description, XKubernetesIntOrString = true };
        }
        else if (ListItemType(type) == typeof(V1Condition))
        {
            schema = ConditionSchema.List(description);
        }
        else if (ListItemType(type) is { } item)
        {
            var itemSchema = ForType(item, EntryDescription(item, property), where);
            if (property.GetCustomAttribute<ItemMaxLengthAttribute>() is { } itemMax)
            {
                itemSchema.MaxLength = itemMax.Length;
            }

            if (item == typeof(string) && property.GetCustomAttribute<AllowedValuesAttribute>() is { } allowedItems)
            {
                itemSchema.EnumProperty = [.. allowedItems.Values]; // a list of strings with [AllowedValues]: each entry is one of them
            }

            schema = new V1JSONSchemaProps { Type = "array", Description = description, Items = itemSchema };
            ApplyListAttributes(schema, property);
        }
        else if (DictionaryValueType(type) is { } value)
        {
            var valueSchema = ForType(value, EntryDescription(value, property), where);
            ApplyRange(valueSchema, property);
            schema = new V1JSONSchemaProps { Type = "object", Description = description, AdditionalProperties = valueSchema };
            if (property.GetCustomAttribute<MapSizeAttribute>() is { } size)
            {
                schema.MinProperties = size.Min > 0 ? size.Min : null;
                schema.MaxProperties = size.Max;
            }
        }
        else
        {
            schema = ForType(type, description, where);
            ApplyScalarAttributes(schema, property);
        }

        if (property.GetCustomAttribute<DefaultValueAttribute>() is { } defaultValue)
        {
            schema.DefaultProperty = defaultValue.Value;
        }

        AddRules(schema, property.GetCustomAttributes<CelRuleAttribute>());
        return schema;
    }

    /// <summary>Scalar list items and map values are described from their property; object entries by their type.</summary>
    private static string? EntryDescription(Type entry, PropertyInfo property) =>
        entry.IsClass && entry != typeof(string) ? null : $"An entry of {JsonName(property)}.";

    private static V1JSONSchemaProps ForType(Type type, string? description, string where)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return new V1JSONSchemaProps { Type = "string", Description = description };
        }

        if (type == typeof(int) || type == typeof(long))
        {
            return new V1JSONSchemaProps { Type = "integer", Format = type == typeof(int) ? "int32" : "int64", Description = description };
        }

        if (type == typeof(double))
        {
            return new V1JSONSchemaProps { Type = "number", Format = "double", Description = description };
        }

        if (type == typeof(bool))
        {
            return new V1JSONSchemaProps { Type = "boolean", Description = description };
        }

        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return new V1JSONSchemaProps { Type = "string", Format = "date-time", Description = description };
        }

        if (type == typeof(JsonNode))
        {
            return new V1JSONSchemaProps { Description = description, XKubernetesPreserveUnknownFields = true };
        }

        if (type.IsClass && type.Namespace?.StartsWith("FnOperator.", StringComparison.Ordinal) == true)
        {
            return ForObject(type, description);
        }

        throw new InvalidOperationException($"{where}: no schema mapping for type {type.Name}.");
    }

    private static void ApplyScalarAttributes(V1JSONSchemaProps schema, PropertyInfo property)
    {
        ApplyRange(schema, property);
        if (property.GetCustomAttribute<MinLengthAttribute>() is { } min)
        {
            schema.MinLength = min.Length;
        }

        if (property.GetCustomAttribute<MaxLengthAttribute>() is { } max)
        {
            schema.MaxLength = max.Length;
        }

        if (property.GetCustomAttribute<RegularExpressionAttribute>() is { } pattern)
        {
            schema.Pattern = pattern.Pattern;
        }

        if (property.GetCustomAttribute<AllowedValuesAttribute>() is { } allowed)
        {
            schema.EnumProperty = [.. allowed.Values];
        }

        if (property.GetCustomAttribute<FormatAttribute>() is { } format)
        {
            schema.Format = format.Format;
        }
    }

    private static void ApplyListAttributes(V1JSONSchemaProps schema, PropertyInfo property)
    {
        if (property.GetCustomAttribute<MinLengthAttribute>() is { } min)
        {
            schema.MinItems = min.Length;
        }

        if (property.GetCustomAttribute<MaxLengthAttribute>() is { } max)
        {
            schema.MaxItems = max.Length;
        }

        if (property.GetCustomAttribute<ListMapKeysAttribute>() is { } keys)
        {
            schema.XKubernetesListType = "map";
            schema.XKubernetesListMapKeys = [.. keys.Keys];
        }
    }

    private static void ApplyRange(V1JSONSchemaProps schema, PropertyInfo property)
    {
        if (property.GetCustomAttribute<RangeAttribute>() is not { } range)
        {
            return;
        }

        schema.Minimum = Convert.ToDouble(range.Minimum, CultureInfo.InvariantCulture);
        schema.Maximum = Convert.ToDouble(range.Maximum, CultureInfo.InvariantCulture);
    }

    private static void AddRules(V1JSONSchemaProps schema, IEnumerable<CelRuleAttribute> rules)
    {
        var list = rules.Select(r => new V1ValidationRule
        {
            Rule = r.Rule,
            Message = r.Message,
            FieldPath = r.FieldPath,
            Reason = r.Reason,
        }).ToList();
        if (list.Count > 0)
        {
            schema.XKubernetesValidations = list;
        }
    }

    private static Type? ListItemType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0] : null;

    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) && type.GetGenericArguments()[0] == typeof(string)
            ? type.GetGenericArguments()[1]
            : null;
}
