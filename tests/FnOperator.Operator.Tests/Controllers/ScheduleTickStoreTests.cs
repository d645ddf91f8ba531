using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.EventSources;
using FnOperator.EventSources.Schedules;
using FnOperator.Kubernetes;
using FnOperator.Operator.Controllers;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>
/// A schedule's ticks across leader changes with the operator's real tick store: the last fired tick in the mapping's
/// annotation <c>fnoperator.io/last-fired-tick</c> on the API test server, read fresh by each new leader's runner, on a
/// fake clock. Each tick fires once; a tick missed while no leader ran fires late once, older missed ones are skipped.
/// </summary>
public sealed class ScheduleTickStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Anchor = DateTimeOffset.Parse("2026-03-01T00:00:00Z", CultureInfo.InvariantCulture);
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Each_tick_fires_once_across_leader_changes_with_the_tick_kept_in_the_annotation()
    {
        // No Function "absent" exists, so the harness operator's own worker waits and never fires this mapping: the
        // runners below play the successive leaders.
        await harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(new EventSourceMapping
        {
            Metadata = new V1ObjectMeta { Name = "tick", NamespaceProperty = "default" },
            Spec = new EventSourceMappingSpec { FunctionName = "absent", Source = new EventSource { Schedule = new ScheduleSource { Expression = "rate(1 minute)" } } },
        }, "fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural);
        var informer = harness.Replicas[0].App.Services.GetRequiredService<Informer<EventSourceMapping>>();
        var key = new ObjectKey("default", "tick");
        var schedule = Schedule.Parse("rate(1 minute)", null, Anchor);
        var target = new ScheduleTarget("default/absent", null, null, "default", "tick", -1, null);
        var clock = new FakeTimeProvider(Anchor.AddSeconds(30));
        var function = new Recorder();

        async Task LeadAsync(int ticks)
        {
            using var lease = new CancellationTokenSource();
            var run = new ScheduleRunner(schedule, target, new ScheduleTickStore(harness.Client, informer, key), function, NullPollerObserver.Instance, clock).RunAsync(lease.Token);
            var goal = function.Ticks.Count + ticks;
            for (var i = 0; i < 20_000 && function.Ticks.Count < goal; i++)
            {
                if (run.IsCompleted)
                {
                    await run; // surface the runner's failure
                }

                clock.Advance(TimeSpan.FromSeconds(5));
                await Task.Delay(5);
            }

            Assert.Equal(goal, function.Ticks.Count);
            await lease.CancelAsync(); // the lease is lost: this leader's runner stops
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        }

        await LeadAsync(2); // leader A: 00:01, 00:02
        Assert.Equal("2026-03-01T00:02:00Z", await AnnotationAsync());
        await LeadAsync(1); // leader B at once: does not fire 00:02 again; fires 00:03
        clock.Advance(TimeSpan.FromMinutes(3.5)); // no leader for 3½ minutes: 00:04, 00:05 and 00:06 missed
        await LeadAsync(2); // leader C: only the latest missed (00:06) fires, late, once; then 00:07

        Assert.Equal(["2026-03-01T00:01:00Z", "2026-03-01T00:02:00Z", "2026-03-01T00:03:00Z", "2026-03-01T00:06:00Z", "2026-03-01T00:07:00Z"], function.Ticks);
        Assert.Equal("2026-03-01T00:07:00Z", await AnnotationAsync());
    }

    private async Task<string?> AnnotationAsync()
    {
        var m = KubernetesJson.Deserialize<EventSourceMapping>((JsonElement)await harness.Client.CustomObjects.GetNamespacedCustomObjectAsync("fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural, "tick"));
        return m.Metadata.Annotations?.TryGetValue(ScheduleTickStore.Annotation, out var v) == true ? v : null;
    }

    /// <summary>The function: records each Scheduled Event's time.</summary>
    private sealed class Recorder : IFunctionInvoker
    {
        private readonly ConcurrentQueue<string> ticks = new();

        public List<string> Ticks => [.. ticks];

        public Task<InvokeOutcome> InvokeAsync(string functionName, string? qualifier, ReadOnlyMemory<byte> payload, bool asynchronous, CancellationToken cancellationToken)
        {
            using var doc = JsonDocument.Parse(payload);
            Assert.Equal("Scheduled Event", doc.RootElement.GetProperty("detail-type").GetString());
            ticks.Enqueue(doc.RootElement.GetProperty("time").GetString()!);
            return Task.FromResult(new InvokeOutcome(200, null, null, "null"u8.ToArray()));
        }
    }
}
