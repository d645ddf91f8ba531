using System.Text.Json;
using FnOperator.Api;
using FnOperator.EventSources.Tests;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>The EventSourceMapping reconciler and its leader-only poller against the API test server and a real nats-server.</summary>
public sealed class EventSourceMappingReconcilerTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync(settings: ["--Operator:DependencyRetry", "00:00:02"]);

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Mapping_reports_FunctionNotFound_then_SourceUnreachable_with_the_error()
    {
        var port = ServerProcess.FreePort(); // nothing listens there
        await CreateAsync("m1", "missing-fn", $"nats://127.0.0.1:{port}");
        await WaitAsync("m1", m => Condition(m, ConditionTypes.Ready) is { Status: ConditionStatus.False, Reason: EventSourceMappingReasons.FunctionNotFound }, "FunctionNotFound");
        Assert.Equal(EventSourceMappingStates.Creating, (await GetAsync("m1"))!.Status!.State);
        await harness.WaitEventAsync("m1", "Warning", EventSourceMappingReasons.FunctionNotFound);

        await harness.CreateAsync(TestFunctions.Node("missing-fn"));
        await WaitAsync("m1", m => Condition(m, EventSourceMappingConditions.SourceReady) is { Status: ConditionStatus.False, Reason: EventSourceMappingReasons.SourceUnreachable }, "SourceUnreachable", 90);
        var source = Condition(await GetAsync("m1"), EventSourceMappingConditions.SourceReady)!;
        Assert.Contains($"127.0.0.1:{port}", source.Message, StringComparison.Ordinal);
        Assert.Equal((ConditionStatus.True, EventSourceMappingReasons.FunctionFound), (Condition(await GetAsync("m1"), EventSourceMappingConditions.FunctionReady)!.Status, Condition(await GetAsync("m1"), EventSourceMappingConditions.FunctionReady)!.Reason));
    }

    [Fact]
    public async Task Mapping_polls_when_connected_and_reports_Disabled_when_disabled()
    {
        await using var nats = await ServerProcess.NatsAsync();
        await harness.CreateAsync(TestFunctions.Node("worker"));
        await CreateAsync("m2", "worker", nats.NatsUrl);
        await WaitAsync("m2", m => m.Status?.State == EventSourceMappingStates.Enabled && Condition(m, ConditionTypes.Ready)?.Status == ConditionStatus.True, "Enabled and Ready", 90);
        Assert.Equal(EventSourceMappingReasons.Polling, Condition(await GetAsync("m2"), EventSourceMappingConditions.SourceReady)!.Reason);
        await harness.WaitEventAsync("m2", "Normal", EventSourceMappingReasons.SourceConnected);

        await harness.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"enabled":false}}""", V1Patch.PatchType.MergePatch), "fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural, "m2");
        await WaitAsync("m2", m => m.Status?.State == EventSourceMappingStates.Disabled && Condition(m, EventSourceMappingConditions.SourceReady)?.Reason == EventSourceMappingReasons.Disabled, "Disabled", 90);
    }

    [Fact]
    public async Task Stream_mapping_with_a_plain_value_data_pattern_reports_InvalidFilter_with_lambdas_text()
    {
        await harness.CreateAsync(TestFunctions.Node("reader"));
        await harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new EventSourceMapping
            {
                Metadata = new V1ObjectMeta { Name = "plain", NamespaceProperty = "default" },
                Spec = new EventSourceMappingSpec
                {
                    FunctionName = "reader",
                    Source = new EventSource { Stream = new StreamSource { Type = "nats", Url = $"nats://127.0.0.1:{ServerProcess.FreePort()}", StreamName = "EVENTS", StartingPosition = "TRIM_HORIZON" } },
                    FilterCriteria = new FilterCriteria { Filters = [new EventFilter { Pattern = """{"data":["text"]}""" }] },
                },
            },
            "fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural);

        await WaitAsync("plain", m => Condition(m, EventSourceMappingConditions.SourceReady) is { Status: ConditionStatus.False, Reason: EventSourceMappingReasons.InvalidFilter }, "InvalidFilter");
        Assert.StartsWith("Invalid filter pattern definition.", Condition(await GetAsync("plain"), EventSourceMappingConditions.SourceReady)!.Message, StringComparison.Ordinal);
        Assert.Equal(ConditionStatus.False, Condition(await GetAsync("plain"), ConditionTypes.Ready)!.Status);
        await harness.WaitEventAsync("plain", "Warning", EventSourceMappingReasons.InvalidFilter);
    }


    private static V1Condition? Condition(EventSourceMapping? m, string type) => m?.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    private Task WaitAsync(string name, Func<EventSourceMapping, bool> condition, string what, int seconds = 60) =>
        Eventually.True(async () => await GetAsync(name) is { } m && condition(m), $"{name} {what}", seconds);

    private Task<object> CreateAsync(string name, string function, string url) =>
        harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new EventSourceMapping
            {
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
                Spec = new EventSourceMappingSpec { FunctionName = function, Source = new EventSource { Queue = new QueueSource { Type = "nats", Url = url, Subject = "jobs" } } },
            },
            "fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural);

    private async Task<EventSourceMapping?> GetAsync(string name) =>
        KubernetesJson.Deserialize<EventSourceMapping>((JsonElement)await harness.Client.CustomObjects.GetNamespacedCustomObjectAsync("fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural, name));
}
