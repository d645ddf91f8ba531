using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>
/// Cold start as a metric per function version: work enqueued while the version has no instance, until the first
/// instance starts it (fnop_gateway_cold_start_invocations_total, fnop_gateway_cold_start_wait_seconds).
/// </summary>
public sealed class ColdStartWaitTests
{
    private static double Sample(string metrics, string name, string function, string version = "$LATEST") =>
        Regex.Match(metrics, Regex.Escape($"{name}{{namespace=\"default\",function=\"{function}\",version=\"{version}\"}}") + " ([0-9.eE+-]+)") is { Success: true } m
            ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
            : 0;

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Work_enqueued_at_zero_counts_one_cold_start_per_invocation_and_warm_work_none(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var fn = "cold-" + kind.ToString().ToLowerInvariant() + Guid.NewGuid().ToString("N")[..6];
        var key = gateway.Add(fn);
        for (var i = 0; i < 2; i++)
        {
            using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke(fn, "{}", "Event"));
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        var before = await gateway.Client.GetStringAsync("/metrics");
        Assert.Equal(0, Sample(before, "fnop_gateway_cold_start_invocations_total", fn));

        // The first instance arrives: both queued invocations waited for it.
        await using var worker = new TestWorker(gateway.BaseAddress, key, i => TestWorker.Ok(i, "{}"));
        await TestWait.UntilAsync(() => worker.Received.Count == 2);
        var metrics = await gateway.Client.GetStringAsync("/metrics");
        Assert.Equal(2, Sample(metrics, "fnop_gateway_cold_start_invocations_total", fn));
        Assert.Equal(2, Sample(metrics, "fnop_gateway_cold_start_wait_seconds_count", fn));
        Assert.True(Sample(metrics, "fnop_gateway_cold_start_wait_seconds_sum", fn) > 0);

        // With the instance there, sync invokes are warm.
        for (var i = 0; i < 5; i++)
        {
            using var answered = await gateway.Client.SendAsync(TestGateway.Invoke(fn));
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }

        metrics = await gateway.Client.GetStringAsync("/metrics");
        Assert.Equal(2, Sample(metrics, "fnop_gateway_cold_start_invocations_total", fn));
    }
}
