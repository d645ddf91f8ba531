using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

public sealed class CrdAdmissionTests : ServerTest
{
    [Fact]
    public async Task Invalid_custom_resources_get_422_with_causes()
    {
        var status = await StatusOfAsync(() => CreateWidgetAsync("w", """{"size": 64, "mode": "medium"}"""));

        Assert.Equal(("Status", "Failure", "Invalid", 422), ((string?)status["kind"], (string?)status["status"], (string?)status["reason"], (int?)status["code"]));
        Assert.Equal("Widget.test.fnoperator.io \"w\" is invalid: [spec.size: Invalid value: 64: spec.size in body should be greater than or equal to 128, spec.mode: Unsupported value: \"medium\": supported values: \"fast\", \"slow\"]", (string?)status["message"]);
        Assert.Equal(("w", "test.fnoperator.io", "Widget"), ((string?)status["details"]!["name"], (string?)status["details"]!["group"], (string?)status["details"]!["kind"]));
        var causes = status["details"]!["causes"]!.AsArray();
        Assert.Equal(("FieldValueInvalid", "spec.size", "Invalid value: 64: spec.size in body should be greater than or equal to 128"), ((string?)causes[0]!["reason"], (string?)causes[0]!["field"], (string?)causes[0]!["message"]));
        Assert.Equal(("FieldValueNotSupported", "spec.mode"), ((string?)causes[1]!["reason"], (string?)causes[1]!["field"]));
    }

    [Fact]
    public async Task Stored_custom_resources_are_defaulted_and_pruned_with_a_warning()
    {
        var (code, created) = await SendAsync(HttpMethod.Post, "/apis/test.fnoperator.io/v1/namespaces/default/widgets", Fixtures.Widget("w", """{"bogus": true, "ports": [{"name": "p"}]}"""));

        var stored = await GetWidgetAsync("w");

        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal(("fast", 1, "TCP"), ((string?)stored["spec"]!["mode"], (int?)stored["spec"]!["replicas"], (string?)stored["spec"]!["ports"]![0]!["protocol"]));
        Assert.False(stored["spec"]!.AsObject().ContainsKey("bogus"));
        Assert.Equal("fast", (string?)created!["spec"]!["mode"]);
    }

    [Fact]
    public async Task Strict_field_validation_rejects_unknown_fields()
    {
        var (code, body) = await SendAsync(HttpMethod.Post, "/apis/test.fnoperator.io/v1/namespaces/default/widgets?fieldValidation=Strict", Fixtures.Widget("w", """{"bogus": true}"""));

        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("strict decoding error: unknown field \"spec.bogus\"", (string?)body!["message"]);
    }

    [Fact]
    public async Task Cel_rules_run_on_create_and_transition_rules_on_update()
    {
        var crossField = await StatusOfAsync(() => CreateWidgetAsync("bad", """{"minReplicas": 5, "maxReplicas": 1}"""));
        await CreateWidgetAsync("w", """{"mode": "slow"}""");

        var transition = await StatusOfAsync(() => Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec": {"mode": "fast"}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w"));

        Assert.Equal("Widget.test.fnoperator.io \"bad\" is invalid: spec: Invalid value: \"object\": minReplicas must not exceed maxReplicas", (string?)crossField["message"]);
        Assert.Equal("Widget.test.fnoperator.io \"w\" is invalid: spec: Invalid value: \"object\": mode is immutable", (string?)transition["message"]);
        Assert.Equal("slow", (string?)(await GetWidgetAsync("w"))["spec"]!["mode"]);
    }

    [Fact]
    public async Task Status_writes_are_validated_too()
    {
        await CreateWidgetAsync("w");

        var status = await StatusOfAsync(() => Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch("""{"status": {"replicas": "three"}}""", V1Patch.PatchType.MergePatch), Group, Version, "default", Widgets, "w"));

        Assert.Equal("Widget.test.fnoperator.io \"w\" is invalid: status.replicas: Invalid value: \"three\": status.replicas in body must be of type integer: \"string\"", (string?)status["message"]);
    }

    [Fact]
    public async Task Crds_created_through_the_api_are_served()
    {
        var crd = Fixtures.Validator.Crds[0] is not null ? System.IO.File.ReadAllText(System.IO.Path.Combine(Fixtures.CrdDirectory, "widgets.yaml")) : "";
        var gadget = KubeApiServer.Validation.YamlJson.ParseDocuments(crd.Replace("Widget", "Gadget", StringComparison.Ordinal).Replace("widget", "gadget", StringComparison.Ordinal).Replace("[wd]", "[gd]", StringComparison.Ordinal))[0]!;

        var (created, _) = await SendAsync(HttpMethod.Post, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", gadget);
        var (made, _) = await SendAsync(HttpMethod.Post, "/apis/test.fnoperator.io/v1/namespaces/default/gadgets", new JsonObject { ["apiVersion"] = "test.fnoperator.io/v1", ["kind"] = "Gadget", ["metadata"] = new JsonObject { ["name"] = "g" }, ["spec"] = new JsonObject { ["size"] = 1 } });

        var (deleted, _) = await SendAsync(HttpMethod.Delete, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.test.fnoperator.io");
        var (gone, _) = await SendAsync(HttpMethod.Get, "/apis/test.fnoperator.io/v1/namespaces/default/gadgets");

        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal((HttpStatusCode)422, made);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.NotFound), (deleted, gone));
    }
}
