using System.Net;
using FnOperator.Api;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Tests.Controllers;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Tests.Hosting;

/// <summary>
/// Leader-only per-object workers against the API test server. The worker under test records its life in a ConfigMap
/// per Function ({function}-worker): who runs it, for which generation, how many runs so far, and whether it stopped.
/// </summary>
public sealed class LeaderWorkerTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() =>
        harness = await OperatorHarness.StartAsync(operators: 2, settings: OperatorHarness.StableLease, services: s => s.AddLeaderWorker<RecordingWorker, Function>());

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Workers_run_only_on_the_leader_restart_on_spec_change_and_stop_on_delete()
    {
        await Eventually.True(() => harness.Replicas.Count(r => r.Manager.IsLeading) == 1, "one leader elected");
        var leader = harness.Replicas.Single(r => r.Manager.IsLeading);
        var follower = harness.Replicas.Single(r => r != leader);

        await harness.CreateAsync(TestFunctions.Node("poller"));
        await harness.CreateAsync(TestFunctions.Node("other"));
        await WaitRecordAsync("poller", r => r["state"] == "running" && r["holder"] == leader.Name, "worker running on the leader");
        await WaitRecordAsync("other", r => r["state"] == "running", "a worker per object");
        Assert.DoesNotContain(harness.Requests.Writes("/configmaps"), w => w.Replica == follower.Name);

        await harness.UpdateAsync("poller", s => s.MemoryMiB = 512);
        await WaitRecordAsync("poller", r => r["state"] == "running" && r["generation"] == "2" && r["runs"] == "2", "restarted with the new spec");
        Assert.Equal(("running", "1"), ((await RecordAsync("other"))!["state"], (await RecordAsync("other"))!["runs"])); // restarts are per object

        await harness.DeleteAsync("poller");
        await WaitRecordAsync("poller", r => r["state"] == "stopped", "stopped on delete");
        Assert.Equal("running", (await RecordAsync("other"))!["state"]);
        Assert.DoesNotContain(harness.Requests.Writes("/configmaps"), w => w.Replica == follower.Name);
    }

    [Fact]
    public async Task Losing_the_lease_stops_every_worker_and_the_new_leader_starts_them()
    {
        await Eventually.True(() => harness.Replicas.Count(r => r.Manager.IsLeading) == 1, "one leader elected");
        var leader = harness.Replicas.Single(r => r.Manager.IsLeading);
        var follower = harness.Replicas.Single(r => r != leader);
        await harness.CreateAsync(TestFunctions.Node("held"));
        await WaitRecordAsync("held", r => r["state"] == "running" && r["holder"] == leader.Name, "worker running on the leader");

        // Another holder takes the Lease (as after a network partition) for longer than the renew deadline (10 s): the
        // leader's renewals fail and it steps down. (A shorter theft is rightly survived: KubernetesClient honours the
        // stolen record's own duration, so the leader takes the Lease back within its renew deadline and never stops.)
        await StealLeaseAsync(TimeSpan.FromSeconds(20));

        await WaitRecordAsync("held", r => r["state"] == "stopped" && r["holder"] == leader.Name, "the old leader's worker stopped");
        await Eventually.True(() => !leader.Manager.IsLeading, "the old leader stepped down");

        // Once the stolen Lease expires, one of the replicas leads again and runs the worker.
        await WaitRecordAsync("held", r => r["state"] == "running", "a worker runs again after the new election");
        var holder = (await RecordAsync("held"))!["holder"];
        Assert.True(harness.Replicas.Single(r => r.Name == holder).Manager.IsLeading);
        Assert.False(follower.Manager.IsLeading && leader.Manager.IsLeading);
    }

    private async Task StealLeaseAsync(TimeSpan duration)
    {
        for (var attempt = 0; ; attempt++)
        {
            var lease = await harness.Client.CoordinationV1.ReadNamespacedLeaseAsync("fn-operator-leader", "fn-system");
            lease.Spec.HolderIdentity = "intruder";
            lease.Spec.LeaseDurationSeconds = (int)duration.TotalSeconds;
            lease.Spec.RenewTime = DateTime.UtcNow;
            try
            {
                await harness.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "fn-operator-leader", "fn-system");
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < 20)
            {
            }
        }
    }

    private Task WaitRecordAsync(string function, Func<IDictionary<string, string>, bool> condition, string what) =>
        Eventually.True(async () => await RecordAsync(function) is { } record && condition(record), what);

    private async Task<IDictionary<string, string>?> RecordAsync(string function)
    {
        try
        {
            return (await harness.Client.CoreV1.ReadNamespacedConfigMapAsync(function + "-worker", "default")).Data;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Writes {holder, generation, runs, state} while it runs and state=stopped when cancelled.</summary>
    private sealed class RecordingWorker(IKubernetes client, IOptions<OperatorOptions> options) : IObjectWorker<Function>
    {
        private readonly Dictionary<string, int> runs = [];

        public async Task RunAsync(Function fn, CancellationToken cancellationToken)
        {
            int run;
            lock (runs)
            {
                run = runs[fn.Metadata.Name] = runs.GetValueOrDefault(fn.Metadata.Name) + 1;
            }

            var record = new Dictionary<string, string>
            {
                ["holder"] = options.Value.PodName,
                ["generation"] = fn.Metadata.Generation.ToString()!,
                ["runs"] = run.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["state"] = "running",
            };
            await WriteAsync(fn, record, cancellationToken);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }
            finally
            {
                record["state"] = "stopped";
                await WriteAsync(fn, record, CancellationToken.None);
            }
        }

        private async Task WriteAsync(Function fn, Dictionary<string, string> data, CancellationToken cancellationToken)
        {
            var name = fn.Metadata.Name + "-worker";
            var ns = fn.Metadata.NamespaceProperty;
            for (var attempt = 0; attempt < 20; attempt++)
            {
                try
                {
                    var existing = await client.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: cancellationToken);
                    existing.Data = data;
                    await client.CoreV1.ReplaceNamespacedConfigMapAsync(existing, name, ns, cancellationToken: cancellationToken);
                    return;
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
                {
                    await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name }, Data = data }, ns, cancellationToken: cancellationToken);
                    return;
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
                {
                }
            }
        }
    }
}
