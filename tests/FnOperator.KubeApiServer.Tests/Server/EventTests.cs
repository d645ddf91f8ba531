using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

/// <summary>Events as the real server serves them: legacy and strict validation, count patches, Event field selectors.</summary>
public sealed class EventTests : ServerTest
{
    private static Corev1Event Event(string name, string involvedName, string ns = "default", string? involvedNs = "default", string reason = "Created") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        InvolvedObject = new V1ObjectReference { Kind = "Function", ApiVersion = "fnoperator.io/v1alpha1", Name = involvedName, NamespaceProperty = involvedNs, Uid = "u-" + involvedName },
        Reason = reason,
        Message = "m",
        Type = "Normal",
        Count = 1,
        Source = new V1EventSource { Component = "fn-operator" },
    };

    [Fact]
    public async Task Core_event_whose_namespace_differs_from_its_involved_object_is_rejected()
    {
        var body = JsonNode.Parse(KubernetesJson.Serialize(Event("e", "hello", involvedNs: "other")));

        var (code, status) = await SendAsync(HttpMethod.Post, "/api/v1/namespaces/default/events", body);

        Assert.Equal(422, (int)code);
        Assert.Equal("Event \"e\" is invalid: involvedObject.namespace: Invalid value: \"other\": does not match event.namespace", (string?)status!["message"]);
    }

    [Fact]
    public async Task Core_event_count_is_bumped_by_a_merge_patch_and_the_event_found_by_involved_object()
    {
        await Client.CoreV1.CreateNamespacedEventAsync(Event("a", "hello"), "default");
        await Client.CoreV1.CreateNamespacedEventAsync(Event("b", "other"), "default");

        await Client.CoreV1.PatchNamespacedEventAsync(new V1Patch("""{"count": 7}""", V1Patch.PatchType.MergePatch), "a", "default");
        var found = await Client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: "involvedObject.name=hello,involvedObject.kind=Function,reason=Created,source=fn-operator");

        Assert.Equal(7, Assert.Single(found.Items).Count);
    }

    [Fact]
    public async Task Unknown_event_field_label_is_a_bad_request()
    {
        var (code, status) = await SendAsync(HttpMethod.Get, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.color%3Dred", null);

        Assert.Equal(400, (int)code);
        Assert.Equal("field label not supported: involvedObject.color", (string?)status!["message"]);
    }

    [Fact]
    public async Task Events_k8s_io_event_needs_event_time_and_reporting_fields()
    {
        var body = new JsonObject
        {
            ["apiVersion"] = "events.k8s.io/v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject { ["name"] = "e", ["namespace"] = "default" },
            ["regarding"] = new JsonObject { ["kind"] = "Function", ["name"] = "hello", ["namespace"] = "default" },
            ["reason"] = "Created",
            ["type"] = "Normal",
            ["deprecatedCount"] = 3,
        };

        var (code, status) = await SendAsync(HttpMethod.Post, "/apis/events.k8s.io/v1/namespaces/default/events", body);

        Assert.Equal(422, (int)code);
        var message = (string?)status!["message"];
        Assert.Contains("eventTime: Required value", message, StringComparison.Ordinal);
        Assert.Contains("deprecatedCount: Invalid value: \"\": needs to be unset", message, StringComparison.Ordinal);
    }
}
