using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using FnOperator.Api.Schema;
using FnOperator.CrdGen;

namespace FnOperator.Api.Tests;

/// <summary>How the generator maps attributes of a model type to OpenAPI keywords, on small purpose-built types.</summary>
public sealed class SchemaGeneratorTests
{
    [Description("Sample.")]
    [CelRule("self.low <= self.high", "low must not exceed high", FieldPath = ".low")]
    public sealed class Sample
    {
        [JsonPropertyName("low")]
        [Required]
        [Range(1, 10)]
        [DefaultValue(2)]
        [Description("Low.")]
        public int Low { get; set; } = 2;

        [JsonPropertyName("high")]
        [Description("High.")]
        public long? High { get; set; }

        [JsonPropertyName("mode")]
        [AllowedValues("fast", "slow")]
        [MaxLength(8)]
        [RegularExpression("^[a-z]+$")]
        [Description("Mode.")]
        public string? Mode { get; set; }

        [JsonPropertyName("items")]
        [MinLength(1)]
        [MaxLength(3)]
        [ListMapKeys("key")]
        [Description("Items.")]
        public List<SampleItem>? Items { get; set; }

        [JsonPropertyName("tags")]
        [MaxLength(4)]
        [Description("Tags.")]
        public List<string>? Tags { get; set; }

        [JsonPropertyName("weights")]
        [MapSize(1, 2)]
        [Range(0.0, 1.0)]
        [Description("Weights.")]
        public Dictionary<string, double>? Weights { get; set; }

        [JsonPropertyName("port")]
        [IntOrString]
        [Description("Port.")]
        public string? Port { get; set; }

        [JsonPropertyName("free")]
        [PreserveUnknownFields]
        [Description("Free.")]
        public System.Text.Json.Nodes.JsonNode? Free { get; set; }

        [JsonPropertyName("at")]
        [Description("At.")]
        public DateTime? At { get; set; }

        [JsonIgnore]
        public int NotSerialized { get; set; }
    }

    [Description("Item.")]
    public sealed class SampleItem
    {
        [JsonPropertyName("key")]
        [Required]
        [Description("Key.")]
        public string Key { get; set; } = "";
    }

    [Description("Undocumented.")]
    public sealed class Undocumented
    {
        [JsonPropertyName("bare")]
        public string? Bare { get; set; }
    }

    [Description("Unsupported.")]
    public sealed class Unsupported
    {
        [JsonPropertyName("when")]
        [Description("When.")]
        public TimeSpan When { get; set; }
    }

    private static readonly k8s.Models.V1JSONSchemaProps Schema = SchemaGenerator.ForObject(typeof(Sample));

    [Fact]
    public void Properties_follow_declaration_order_and_json_names_and_skip_ignored_ones()
    {
        Assert.Equal(["low", "high", "mode", "items", "tags", "weights", "port", "free", "at"], Schema.Properties.Keys);
    }

    [Fact]
    public void Scalars_get_types_bounds_defaults_and_required()
    {
        var low = Schema.Properties["low"];
        Assert.Equal(("integer", "int32", 1.0, 10.0, (object)2), (low.Type, low.Format, low.Minimum, low.Maximum, low.DefaultProperty));
        Assert.Equal(("integer", "int64"), (Schema.Properties["high"].Type, Schema.Properties["high"].Format));
        Assert.Equal(["low"], Schema.Required);
        var mode = Schema.Properties["mode"];
        Assert.Equal(["fast", "slow"], mode.EnumProperty.Cast<string>());
        Assert.Equal((8L, "^[a-z]+$"), (mode.MaxLength, mode.Pattern));
        Assert.Equal(("string", "date-time"), (Schema.Properties["at"].Type, Schema.Properties["at"].Format));
    }

    [Fact]
    public void Lists_get_item_schemas_sizes_and_list_map_keys()
    {
        var items = Schema.Properties["items"];
        Assert.Equal(("array", 1L, 3L, "map"), (items.Type, items.MinItems, items.MaxItems, items.XKubernetesListType));
        Assert.Equal(["key"], items.XKubernetesListMapKeys);
        Assert.Equal("Item.", ((k8s.Models.V1JSONSchemaProps)items.Items).Description);
        var tags = Schema.Properties["tags"];
        Assert.Equal(("string", "An entry of tags."), (((k8s.Models.V1JSONSchemaProps)tags.Items).Type, ((k8s.Models.V1JSONSchemaProps)tags.Items).Description));
        Assert.Null(tags.XKubernetesListType);
    }

    [Fact]
    public void Dictionaries_bound_their_values_with_range_and_their_entries_with_map_size()
    {
        var weights = Schema.Properties["weights"];
        var values = (k8s.Models.V1JSONSchemaProps)weights.AdditionalProperties;
        Assert.Equal(("object", 1L, 2L), (weights.Type, weights.MinProperties, weights.MaxProperties));
        Assert.Equal(("number", 0.0, 1.0), (values.Type, values.Minimum, values.Maximum));
    }

    [Fact]
    public void Int_or_string_and_free_form_fields_are_marked()
    {
        Assert.True(Schema.Properties["port"].XKubernetesIntOrString);
        Assert.Null(Schema.Properties["port"].Type);
        Assert.True(Schema.Properties["free"].XKubernetesPreserveUnknownFields);
    }

    [Fact]
    public void Class_rules_become_validations_with_message_field_path_and_reason()
    {
        var rule = Assert.Single(Schema.XKubernetesValidations);
        Assert.Equal(("self.low <= self.high", "low must not exceed high", ".low", null), (rule.Rule, rule.Message, rule.FieldPath, rule.Reason));
    }

    [Fact]
    public void A_property_without_description_is_an_error_naming_it()
    {
        var e = Assert.Throws<InvalidOperationException>(() => SchemaGenerator.ForObject(typeof(Undocumented)));
        Assert.Equal("Undocumented.Bare has no [Description].", e.Message);
    }

    [Fact]
    public void An_unmapped_type_is_an_error_naming_the_property()
    {
        var e = Assert.Throws<InvalidOperationException>(() => SchemaGenerator.ForObject(typeof(Unsupported)));
        Assert.Contains("Unsupported.When", e.Message, StringComparison.Ordinal);
        Assert.Contains("TimeSpan", e.Message, StringComparison.Ordinal);
    }
}
