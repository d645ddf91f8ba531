using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation;

namespace FnOperator.KubeApiServer.Tests.Validation;

public sealed class CrdSchemaValidatorTests
{
    private static CrdDefinition Widgets => Fixtures.Validator.Find("test.fnoperator.io", "Widget")!;

    [Theory]
    [InlineData("""{"size": 64}""", "spec.size: Invalid value: 64: spec.size in body should be greater than or equal to 128")]
    [InlineData("""{"size": 20000}""", "spec.size: Invalid value: 20000: spec.size in body should be less than or equal to 10240")]
    [InlineData("""{"size": "big"}""", "spec.size: Invalid value: \"big\": spec.size in body must be of type integer: \"string\"")]
    [InlineData("""{"size": 1.5}""", "spec.size: Invalid value: 1.5: spec.size in body must be of type integer: \"number\"")]
    [InlineData("""{"ratio": 0}""", "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0")]
    [InlineData("""{"ratio": 1}""", "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1")]
    [InlineData("""{"mode": "medium"}""", "spec.mode: Unsupported value: \"medium\": supported values: \"fast\", \"slow\"")]
    [InlineData("""{"name": ""}""", "spec.name: Invalid value: \"\": spec.name in body should be at least 1 chars long | spec.name: Invalid value: \"\": spec.name in body should match '^[a-z]+$'")]
    [InlineData("""{"name": "abcdefghijk"}""", "spec.name: Too long: may not be more than 10 bytes")]
    [InlineData("""{"name": "ABC"}""", "spec.name: Invalid value: \"ABC\": spec.name in body should match '^[a-z]+$'")]
    [InlineData("""{"tags": []}""", "spec.tags: Invalid value: []: spec.tags in body should have at least 1 items")]
    [InlineData("""{"tags": ["t-a", "t-b", "t-c", "t-d"]}""", "spec.tags: Too many: 4: must have at most 3 items")]
    [InlineData("""{"labels": {"a": "1", "b": "2", "c": "3"}}""", "spec.labels: Too many: 3: must have at most 2 items")]
    [InlineData("""{"labels": {"a": 1}}""", "spec.labels[a]: Invalid value: 1: spec.labels[a] in body must be of type string: \"integer\"")]
    [InlineData("""{"created": "yesterday"}""", "spec.created: Invalid value: \"yesterday\": spec.created in body must be of type date-time: \"yesterday\"")]
    [InlineData("""{"enabled": "yes"}""", "spec.enabled: Invalid value: \"yes\": spec.enabled in body must be of type boolean: \"string\"")]
    [InlineData("""{"ports": [{"port": 80}]}""", "spec.ports[0].name: Required value")]
    [InlineData("""{"ports": [{"name": "a", "port": true}]}""", "spec.ports[0].port: Invalid value: true: spec.ports[0].port in body must be of type integer-or-string: \"boolean\"")]
    [InlineData("""{"ports": [{"name": "a"}, {"name": "a"}]}""", "spec.ports[1]: Duplicate value: {\"name\":\"a\"}")]
    [InlineData("""{"tags": ["x"]}""", "spec.tags: Invalid value: \"array\": tags must start with t-")]
    [InlineData("""{"minReplicas": 3, "maxReplicas": 2}""", "spec: Invalid value: \"object\": minReplicas must not exceed maxReplicas")]
    [InlineData("""{"code": {"image": "i", "url": "u"}}""", "spec.code: Invalid value: \"object\": exactly one of image or url")]
    [InlineData("""{"code": {}}""", "spec.code: Invalid value: \"object\": exactly one of image or url")]
    public void Invalid_values_are_reported_with_the_apiservers_wording(string spec, string expected)
    {
        var errors = Fixtures.Validator.Validate(Fixtures.Widget(specJson: spec));

        Assert.Equal(expected.Split(" | "), errors);
    }

    [Theory]
    [InlineData("""{"size": 128, "ratio": 0.5, "mode": "slow", "name": "abc", "tags": ["t-1"], "ports": [{"name": "http", "port": "http"}, {"name": "x", "port": 8080}]}""")]
    [InlineData("""{"size": 10240, "labels": {"a": "b"}, "note": null, "created": "2026-11-23T12:00:00Z", "code": {"url": "https://x"}}""")]
    [InlineData("""{"extra": {"anything": {"goes": [1, "two"]}}}""")]
    public void Valid_widgets_have_no_errors(string spec) =>
        Assert.Empty(Fixtures.Validator.Validate(Fixtures.Widget(specJson: spec)));

    [Fact]
    public void Missing_required_field_and_name_are_reported()
    {
        var widget = Fixtures.Widget(specJson: """{"size": 256}""");
        widget["spec"]!.AsObject().Remove("size");
        widget["metadata"]!.AsObject().Remove("name");

        Assert.Equal(["metadata.name: Required value: name or generateName is required", "spec.size: Required value"], Fixtures.Validator.Validate(widget));
    }

    [Fact]
    public void Unknown_fields_are_reported_by_validate_and_pruned_by_admit()
    {
        var widget = Fixtures.Widget(specJson: """{"bogus": 1, "extra": {"kept": true}}""");
        widget["topLevel"] = "x";

        Assert.Equal(["unknown field \"spec.bogus\"", "unknown field \"topLevel\""], Fixtures.Validator.Validate(widget).Order(StringComparer.Ordinal));
        var admitted = Fixtures.Validator.Admit(Widgets, "v1", widget, null);
        Assert.Empty(admitted.Errors);
        Assert.False(admitted.Object["spec"]!.AsObject().ContainsKey("bogus"));
        Assert.False(admitted.Object.ContainsKey("topLevel"));
        Assert.Equal(true, (bool?)admitted.Object["spec"]!["extra"]!["kept"]);
    }

    [Fact]
    public void Defaults_are_applied_including_inside_list_items_and_nulls_of_non_nullable_fields_are_dropped()
    {
        var widget = Fixtures.Widget(specJson: """{"mode": null, "note": null, "ports": [{"name": "a"}]}""");

        var admitted = Fixtures.Validator.Admit(Widgets, "v1", widget, null).Object;

        Assert.Equal(1, (int?)admitted["spec"]!["replicas"]);
        Assert.Equal("fast", (string?)admitted["spec"]!["mode"]);
        Assert.Equal("TCP", (string?)admitted["spec"]!["ports"]![0]!["protocol"]);
        Assert.True(admitted["spec"]!.AsObject().ContainsKey("note"));
        Assert.Null(admitted["spec"]!["note"]);
        Assert.Equal(64, (int?)Fixtures.Widget(specJson: """{"size": 64}""")["spec"]!["size"]); // the input is not modified
    }

    [Fact]
    public void Transition_rules_run_only_on_update()
    {
        var old = Fixtures.Validator.Admit(Widgets, "v1", Fixtures.Widget(specJson: """{"mode": "slow"}"""), null);
        Assert.Empty(old.Errors);

        var changed = Fixtures.Validator.Admit(Widgets, "v1", Fixtures.Widget(specJson: """{"mode": "fast"}"""), old.Object);
        var same = Fixtures.Validator.Admit(Widgets, "v1", Fixtures.Widget(specJson: """{"mode": "slow", "size": 512}"""), old.Object);

        Assert.Equal(["spec: Invalid value: \"object\": mode is immutable"], changed.Errors.Select(e => e.ToString()));
        Assert.Equal("FieldValueInvalid", changed.Errors[0].Reason);
        Assert.Empty(same.Errors);
    }

    [Fact]
    public void Unknown_kinds_and_unserved_versions_are_errors()
    {
        var other = Fixtures.Widget();
        other["kind"] = "Gadget";
        var v2 = Fixtures.Widget();
        v2["apiVersion"] = "test.fnoperator.io/v2";

        Assert.Equal(["no CustomResourceDefinition for kind \"Gadget\" in apiVersion \"test.fnoperator.io/v1\""], Fixtures.Validator.Validate(other));
        Assert.Equal(["version \"v2\" of widgets.test.fnoperator.io is not served"], Fixtures.Validator.Validate(v2));
    }

    [Fact]
    public void A_rule_outside_the_cel_subset_fails_at_load_time_naming_the_rule()
    {
        var yaml = File.ReadAllText(Path.Combine(Fixtures.CrdDirectory, "widgets.yaml"))
            .Replace("self.all(t, t.startsWith('t-'))", "self.sum() > 0", StringComparison.Ordinal);

        var error = Assert.ThrowsAny<Exception>(() => CrdSchemaValidator.FromYaml(yaml));

        Assert.Contains("self.sum() > 0", error.Message, StringComparison.Ordinal);
        Assert.Contains("outside the supported CEL subset", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Project_crds_load_when_present()
    {
        var dir = Path.Combine(Fixtures.RepoRoot, "crds");
        if (!Directory.Exists(dir) || Directory.GetFiles(dir, "*.yaml").Length == 0)
        {
            return; // crds/ is generated by `make crds` (engineer E); until it lands there is nothing to load
        }

        var validator = CrdSchemaValidator.LoadDirectory(dir);

        Assert.Contains(validator.Crds, c => c.Name == "functions.fnoperator.io");
    }
}
