using FnOperator.Api;
using k8s;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>Two operator replicas on one API server: only the Lease holder reconciles; the other takes over when it goes.</summary>
public sealed class LeaderElectionTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync(operators: 2, settings: OperatorHarness.StableLease);

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Only_the_leader_reconciles_and_the_follower_takes_over_when_the_leader_stops()
    {
        await Eventually.True(() => harness.Replicas.Count(r => r.Manager.IsLeading) == 1, "one leader elected");
        var leader = harness.Replicas.Single(r => r.Manager.IsLeading);
        var follower = harness.Replicas.Single(r => r != leader);

        await harness.CreateAsync(TestFunctions.Node("first"));
        await harness.WaitReadyAsync("first");

        Assert.True(leader.Reconciles > 0);
        Assert.Equal(0, follower.Reconciles);
        Assert.False(follower.Manager.IsLeading);
        Assert.True(follower.Manager.HasSynced, "the follower keeps a warm cache");
        Assert.DoesNotContain(harness.Requests.Writes("/deployments"), r => r.Replica == follower.Name);
        Assert.DoesNotContain(harness.Requests.Writes("/" + Function.Plural), r => r.Replica == follower.Name);

        await leader.StopAsync();
        await Eventually.True(() => follower.Manager.IsLeading, "follower took the Lease");
        Assert.Equal(follower.Name, (await harness.Client.CoordinationV1.ReadNamespacedLeaseAsync("fn-operator-leader", "fn-system")).Spec.HolderIdentity);
        await harness.CreateAsync(TestFunctions.Node("second"));
        await harness.UpdateAsync("first", s => s.MemoryMiB = 512);

        await harness.WaitReadyAsync("second");
        await harness.WaitReadyAsync("first", generation: 2);
        Assert.True(follower.Reconciles > 0);
        Assert.Contains(harness.Requests.Writes("/deployments"), r => r.Replica == follower.Name);
    }

    [Fact]
    public async Task A_leader_that_shuts_down_releases_the_lease()
    {
        await Eventually.True(() => harness.Replicas.Count(r => r.Manager.IsLeading) == 1, "one leader elected");
        var leader = harness.Replicas.Single(r => r.Manager.IsLeading);
        await harness.Replicas.Single(r => r != leader).StopAsync(); // nobody left to take the Lease over

        await leader.StopAsync();

        var lease = await harness.Client.CoordinationV1.ReadNamespacedLeaseAsync("fn-operator-leader", "fn-system");
        Assert.True(string.IsNullOrEmpty(lease.Spec.HolderIdentity), $"holder after shutdown: '{lease.Spec.HolderIdentity}'");
        Assert.Equal(1, lease.Spec.LeaseDurationSeconds);
    }
}
