using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>The per-invocation counters and histograms, updated through the gateway's cached labelled series.</summary>
public sealed class InvokeMetricsTests
{
    [Fact]
    public async Task Each_function_and_invocation_type_counts_on_its_own_series_and_unused_types_show_none()
    {
        await using var gateway = await TestGateway.StartAsync();
        var first = gateway.Add("first");
        var second = gateway.Add("second");
        await using var firstWorker = new TestWorker(gateway.BaseAddress, first, inv => TestWorker.Ok(inv, "1"));
        await using var secondWorker = new TestWorker(gateway.BaseAddress, second, inv => TestWorker.Ok(inv, "2") with { InitDurationMs = 100 });
        for (var i = 0; i < 4; i++)
        {
            using var _ = await gateway.Client.SendAsync(TestGateway.Invoke("first"));
        }

        for (var i = 0; i < 2; i++)
        {
            using var _ = await gateway.Client.SendAsync(TestGateway.Invoke("second"));
        }

        using var queued = await gateway.Client.SendAsync(TestGateway.Invoke("second", "{}", "Event"));
        var metrics = await gateway.Client.GetStringAsync("/metrics");

        Assert.Contains("""fnop_gateway_invocations_total{namespace="default",function="first",type="RequestResponse"} 4""", metrics, StringComparison.Ordinal);
        Assert.Contains("""fnop_gateway_invocations_total{namespace="default",function="second",type="RequestResponse"} 2""", metrics, StringComparison.Ordinal);
        Assert.Contains("""fnop_gateway_invocations_total{namespace="default",function="second",type="Event"} 1""", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("""function="first",type="Event""", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("""type="DryRun""", metrics, StringComparison.Ordinal);
        Assert.Contains("""fnop_gateway_invocation_duration_seconds_count{namespace="default",function="first"} 4""", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("""fnop_gateway_cold_starts_total{namespace="default",function="first"}""", metrics, StringComparison.Ordinal);
        Assert.Contains("""fnop_gateway_init_duration_seconds_count{namespace="default",function="second"} """, metrics, StringComparison.Ordinal);
    }
}
