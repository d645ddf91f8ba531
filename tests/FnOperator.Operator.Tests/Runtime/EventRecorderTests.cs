using FnOperator.Api;
using FnOperator.KubeApiServer;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FnOperator.Operator.Tests.Runtime;

/// <summary>The Event recorder against the API test server: what ends up stored when a reconcile repeats itself.</summary>
public sealed class EventRecorderTests : IAsyncLifetime
{
    private KubeApiTestServer server = null!;
    private IKubernetes client = null!;

    public async Task InitializeAsync()
    {
        server = await KubeApiTestServer.StartAsync();
        client = server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        await server.DisposeAsync();
    }

    private static Function Fn(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Uid = "uid-" + name, ResourceVersion = "7" },
    };

    [Fact]
    public async Task A_hot_loop_of_the_same_event_yields_one_event_with_its_count()
    {
        await using var recorder = await StartAsync(new EventRecorderOptions { UpdateInterval = TimeSpan.FromMilliseconds(200), Instance = "operator-0" });
        var fn = Fn("hot");
        var writes = 0;
        server.Store.Changed += e => Interlocked.Add(ref writes, e.Resource == "core/events" ? 1 : 0);

        for (var i = 0; i < 500; i++)
        {
            recorder.Recorder.Record(fn, EventType.Warning, "ConfigMapNotFound", $"ConfigMap default/code does not exist (attempt {i}).");
        }

        await Eventually.True(async () => (await EventsAsync()).Sum(e => e.Count ?? 0) == 500, "all 500 occurrences counted");
        var stored = Assert.Single(await EventsAsync());
        Assert.Equal((500, "Warning", "ConfigMapNotFound"), (stored.Count, stored.Type, stored.Reason));
        Assert.Equal("ConfigMap default/code does not exist (attempt 499).", stored.Message);
        Assert.Equal(("Function", "hot", "uid-hot"), (stored.InvolvedObject.Kind, stored.InvolvedObject.Name, stored.InvolvedObject.Uid));
        Assert.Equal(("fn-operator", "operator-0"), (stored.Source.Component, stored.ReportingInstance));
        Assert.True(stored.LastTimestamp >= stored.FirstTimestamp);
        Assert.InRange(writes, 2, 10); // one create and a few count patches, not 500 writes
    }

    [Fact]
    public async Task Other_reasons_and_other_objects_are_separate_events()
    {
        await using var recorder = await StartAsync(new EventRecorderOptions { UpdateInterval = TimeSpan.FromMilliseconds(100) });

        recorder.Recorder.Record(Fn("a"), EventType.Normal, "CreatedDeployment", "Created Deployment a-latest");
        recorder.Recorder.Record(Fn("a"), EventType.Normal, "UpdatedDeployment", "Updated Deployment a-latest");
        recorder.Recorder.Record(Fn("b"), EventType.Normal, "CreatedDeployment", "Created Deployment b-latest");
        recorder.Recorder.Record(Fn("a"), EventType.Normal, "CreatedDeployment", "Created Deployment a-latest");

        await Eventually.True(async () => (await EventsAsync()).Sum(e => e.Count ?? 0) == 4, "four occurrences counted");
        var events = await EventsAsync();
        Assert.Equal(3, events.Count);
        Assert.Equal(2, events.Single(e => e.InvolvedObject.Name == "a" && e.Reason == "CreatedDeployment").Count);
    }

    [Fact]
    public async Task Tracking_is_bounded_and_forgotten_events_start_anew()
    {
        await using var recorder = await StartAsync(new EventRecorderOptions { MaxTracked = 2, UpdateInterval = TimeSpan.FromMilliseconds(100) });

        foreach (var name in new[] { "x", "y", "z", "x" })
        {
            recorder.Recorder.Record(Fn(name), EventType.Warning, "InvalidSpec", "bad");
        }

        await Eventually.True(async () => (await EventsAsync()).Count == 4, "x was forgotten when z came, so its repeat is a new Event");
    }

    private async Task<IReadOnlyList<Corev1Event>> EventsAsync() => [.. (await client.CoreV1.ListNamespacedEventAsync("default")).Items];

    private async Task<RunningRecorder> StartAsync(EventRecorderOptions options)
    {
        var recorder = new EventRecorder(client, options, TimeProvider.System, NullLogger<EventRecorder>.Instance);
        await recorder.StartAsync(CancellationToken.None);
        return new RunningRecorder(recorder);
    }

    private sealed class RunningRecorder(EventRecorder recorder) : IAsyncDisposable
    {
        public EventRecorder Recorder => recorder;

        public async ValueTask DisposeAsync()
        {
            await recorder.StopAsync(CancellationToken.None);
            recorder.Dispose();
        }
    }
}
