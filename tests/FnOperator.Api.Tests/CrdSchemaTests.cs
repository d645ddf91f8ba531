using k8s.Models;

namespace FnOperator.Api.Tests;

/// <summary>The generated schemas carry the bounds, enums, defaults, names and rules the API promises.</summary>
public sealed class CrdSchemaTests
{
    public static readonly TheoryData<string> Kinds = new() { "Function", "Layer", "Alias", "EventSourceMapping" };

    [Theory]
    [InlineData("Function", "spec.memoryMiB", 128, 10240)]
    [InlineData("Function", "spec.timeoutSeconds", 1, 900)]
    [InlineData("Function", "spec.ephemeralStorageMiB", 512, 10240)]
    [InlineData("Function", "spec.concurrency.reserved", 0, 10000)]
    [InlineData("Function", "spec.async.maximumRetryAttempts", 0, 2)]
    [InlineData("Function", "spec.async.maximumEventAgeSeconds", 60, 21600)]
    [InlineData("Alias", "spec.routingConfig.additionalVersionWeights{}", 0.0, 1.0)]
    [InlineData("EventSourceMapping", "spec.batchSize", 1, 10000)]
    [InlineData("EventSourceMapping", "spec.maximumBatchingWindowInSeconds", 0, 300)]
    [InlineData("EventSourceMapping", "spec.maximumRetryAttempts", -1, 10000)]
    [InlineData("EventSourceMapping", "spec.parallelizationFactor", 1, 10)]
    public void Numeric_fields_carry_their_bounds(string kind, string path, double minimum, double maximum)
    {
        var schema = Schemas.At(kind, path);
        Assert.Equal(minimum, schema.Minimum);
        Assert.Equal(maximum, schema.Maximum);
    }

    [Theory]
    [InlineData("Function", "spec.layers", 5)]
    [InlineData("Function", "spec.environment", 256)]
    [InlineData("Layer", "spec.compatibleRuntimes", 15)]
    [InlineData("EventSourceMapping", "spec.filterCriteria.filters", 5)]
    public void Lists_carry_their_maximum_size(string kind, string path, long maxItems)
    {
        var schema = Schemas.At(kind, path);
        Assert.Equal("array", schema.Type);
        Assert.Equal(maxItems, schema.MaxItems);
    }

    [Fact]
    public void Alias_allows_at_most_one_additional_version()
    {
        Assert.Equal(1, Schemas.At("Alias", "spec.routingConfig.additionalVersionWeights").MaxProperties);
    }

    [Theory]
    [InlineData("EventSourceMapping", "spec.source.queue.type", "nats,redis,rabbitmq")]
    [InlineData("EventSourceMapping", "spec.source.stream.type", "nats,redis")]
    [InlineData("EventSourceMapping", "spec.source.stream.startingPosition", "TRIM_HORIZON,LATEST,AT_TIMESTAMP")]
    [InlineData("Function", "status.conditions[].status", "True,False,Unknown")]
    public void Enumerated_fields_list_their_values(string kind, string path, string values)
    {
        Assert.Equal(values.Split(','), Schemas.At(kind, path).EnumProperty.Select(v => v.ToString()));
    }

    [Theory]
    [InlineData("Function", "spec.memoryMiB", "128")]
    [InlineData("Function", "spec.timeoutSeconds", "3")]
    [InlineData("Function", "spec.ephemeralStorageMiB", "512")]
    [InlineData("Function", "spec.concurrency.perInstance", "1")]
    [InlineData("Function", "spec.scaling.maxReplicas", "10")]
    [InlineData("Function", "spec.scaling.scaleToZeroAfterSeconds", "300")]
    [InlineData("Function", "spec.async.maximumRetryAttempts", "2")]
    [InlineData("EventSourceMapping", "spec.enabled", "True")]
    [InlineData("EventSourceMapping", "spec.batchSize", "10")]
    [InlineData("EventSourceMapping", "spec.maximumRetryAttempts", "-1")]
    public void Fields_carry_their_defaults(string kind, string path, string value)
    {
        Assert.Equal(value, Convert.ToString(Schemas.At(kind, path).DefaultProperty, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("Function", "", "spec")]
    [InlineData("Function", "spec", "code")]
    [InlineData("Function", "spec.environment[]", "name")]
    [InlineData("Layer", "spec", "content")]
    [InlineData("Layer", "status.versions[]", "version,codeSha256,createdAt")]
    [InlineData("Alias", "spec", "functionName,functionVersion")]
    [InlineData("EventSourceMapping", "spec", "functionName,source")]
    [InlineData("EventSourceMapping", "spec.source.stream", "type,url,streamName,startingPosition")]
    [InlineData("EventSourceMapping", "spec.source.schedule", "expression")]
    public void Required_fields_are_listed(string kind, string path, string required)
    {
        var schema = path.Length == 0 ? Schemas.Root(kind) : Schemas.At(kind, path);
        Assert.Equal(required.Split(','), schema.Required);
    }

    [Theory]
    [InlineData("Function", "Runtime,Ready,Replicas,Version,Reason,Age")]
    [InlineData("Layer", "Latest,Ready,Runtimes,Age")]
    [InlineData("Alias", "Function,Version,Ready,Age")]
    [InlineData("EventSourceMapping", "Function,Enabled,Ready,Last Result,Age")]
    public void Printer_columns_are_in_order(string kind, string columns)
    {
        var actual = Schemas.Crd(kind).Spec.Versions.Single().AdditionalPrinterColumns.Select(c => c.Name);
        Assert.Equal(columns.Split(','), actual);
    }

    [Fact]
    public void Function_printer_columns_read_status_and_spec()
    {
        var columns = Schemas.Crd("Function").Spec.Versions.Single().AdditionalPrinterColumns.ToDictionary(c => c.Name);
        Assert.Equal(".spec.runtime", columns["Runtime"].JsonPath);
        Assert.Equal(".status.conditions[?(@.type==\"Ready\")].status", columns["Ready"].JsonPath);
        Assert.Equal(".status.readyReplicas", columns["Replicas"].JsonPath);
        Assert.Equal(".status.latestVersion", columns["Version"].JsonPath);
        Assert.Equal("date", columns["Age"].Type);
        Assert.Equal(1, columns["Reason"].Priority);
    }

    [Theory]
    [InlineData("Function", "functions", "function", "fn")]
    [InlineData("Layer", "layers", "layer", "fnlayer")]
    [InlineData("Alias", "aliases", "alias", "fnalias")]
    [InlineData("EventSourceMapping", "eventsourcemappings", "eventsourcemapping", "esm")]
    public void Names_short_names_and_categories(string kind, string plural, string singular, string shortName)
    {
        var crd = Schemas.Crd(kind);
        Assert.Equal($"{plural}.fnoperator.io", crd.Metadata.Name);
        Assert.Equal("fnoperator.io", crd.Spec.Group);
        Assert.Equal("Namespaced", crd.Spec.Scope);
        Assert.Equal(plural, crd.Spec.Names.Plural);
        Assert.Equal(singular, crd.Spec.Names.Singular);
        Assert.Equal(kind + "List", crd.Spec.Names.ListKind);
        Assert.Equal([shortName], crd.Spec.Names.ShortNames);
        Assert.Equal(["fnoperator"], crd.Spec.Names.Categories);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Single_served_storage_version_with_status_subresource(string kind)
    {
        var version = Schemas.Crd(kind).Spec.Versions.Single();
        Assert.Equal("v1alpha1", version.Name);
        Assert.True(version.Served);
        Assert.True(version.Storage);
        Assert.NotNull(version.Subresources?.Status);
        Assert.Null(version.Subresources?.Scale);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_property_has_a_description(string kind)
    {
        var missing = Schemas.Walk(kind).Where(n => string.IsNullOrWhiteSpace(n.Schema.Description)).Select(n => n.Path).ToList();
        Assert.True(missing.Count == 0, $"{kind}: no description at {string.Join(", ", missing)}");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_node_is_structural(string kind)
    {
        // A structural schema gives every node a type, except nodes that preserve unknown fields or are int-or-string.
        var untyped = Schemas.Walk(kind)
            .Where(n => n.Schema.Type is null && n.Schema.XKubernetesPreserveUnknownFields != true && n.Schema.XKubernetesIntOrString != true)
            .Select(n => n.Path).ToList();
        Assert.True(untyped.Count == 0, $"{kind}: no type at {string.Join(", ", untyped)}");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_rule_has_a_message(string kind)
    {
        var rules = Schemas.Walk(kind).SelectMany(n => n.Schema.XKubernetesValidations ?? []).ToList();
        Assert.NotEmpty(rules);
        Assert.All(rules, r => Assert.False(string.IsNullOrWhiteSpace(r.Message), r.Rule));
    }

    [Theory]
    [InlineData("Function", "spec", "has(self.code.image)")]
    [InlineData("Function", "spec.code", "has(self.configMap)")]
    [InlineData("Function", "spec.code", "has(self.sha256)")]
    [InlineData("Function", "spec.concurrency", "self.provisioned <= self.reserved")]
    [InlineData("Function", "spec.async.destinations.onFailure", "has(self.queue)")]
    [InlineData("Layer", "spec.content", "has(self.path)")]
    [InlineData("Layer", "status.versions[]", "self == oldSelf")]
    [InlineData("Alias", "spec", "self.functionVersion in self.routingConfig.additionalVersionWeights")]
    [InlineData("EventSourceMapping", "spec.source", "has(self.schedule)")]
    [InlineData("EventSourceMapping", "spec.source.stream", "AT_TIMESTAMP")]
    public void Cross_field_rules_sit_on_the_right_schema(string kind, string path, string fragment)
    {
        var rules = Schemas.At(kind, path).XKubernetesValidations ?? [];
        Assert.Contains(rules, r => r.Rule.Contains(fragment, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Function", "status.conditions")]
    [InlineData("Layer", "status.versions")]
    [InlineData("Function", "spec.environment")]
    public void Keyed_lists_are_list_maps(string kind, string path)
    {
        var schema = Schemas.At(kind, path);
        Assert.Equal("map", schema.XKubernetesListType);
        Assert.Single(schema.XKubernetesListMapKeys);
    }

    [Fact]
    public void Schedule_input_keeps_free_form_json()
    {
        Assert.True(Schemas.At("EventSourceMapping", "spec.source.schedule.input").XKubernetesPreserveUnknownFields);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Data_under_cel_rules_is_bounded_for_the_cost_budget(string kind)
    {
        // The apiserver estimates a rule's cost from the largest data it can see: unbounded strings, lists or maps under
        // a rule can push it over the budget and get the CRD rejected. Everything a rule can reach carries a bound.
        var unbounded = Schemas.Walk(kind)
            .Where(n => n.Schema.XKubernetesValidations is { Count: > 0 })
            .SelectMany(n => Schemas.Walk(kind).Where(d => d.Path == n.Path || d.Path.StartsWith(n.Path + (n.Path.Length == 0 ? "" : "."), StringComparison.Ordinal) || d.Path.StartsWith(n.Path + "[]", StringComparison.Ordinal) || d.Path.StartsWith(n.Path + "{}", StringComparison.Ordinal)))
            .Where(d => d.Schema.Type switch
            {
                "string" => d.Schema.MaxLength is null && d.Schema.EnumProperty is null && d.Schema.Format != "date-time",
                "array" => d.Schema.MaxItems is null,
                "object" => d.Schema.AdditionalProperties is not null && d.Schema.MaxProperties is null,
                _ => false,
            })
            .Select(d => d.Path).Distinct().ToList();
        Assert.True(unbounded.Count == 0, $"{kind}: unbounded under a CEL rule: {string.Join(", ", unbounded)}");
    }
}
