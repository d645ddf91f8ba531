using System.Text;
using FnOperator.RuntimeShim;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>The shim's hand-written Prometheus text exposition (it replaced prometheus-net, issue #11).</summary>
public sealed class ShimMetricsTests
{
    [Fact]
    public void A_labelled_counter_writes_one_line_per_label_value_with_escaped_values()
    {
        var counter = new ShimCounter("t_errors_total", "Errors by type.", "error_type");
        counter.WithLabels("Runtime.ExitError").Inc();
        counter.WithLabels("Runtime.ExitError").Inc(2);
        counter.WithLabels("a\"b\\c\nd").Inc();

        var text = Write(counter);

        Assert.Contains("# HELP t_errors_total Errors by type.\n# TYPE t_errors_total counter\n", text);
        Assert.Contains("t_errors_total{error_type=\"Runtime.ExitError\"} 3\n", text);
        Assert.Contains("t_errors_total{error_type=\"a\\\"b\\\\c\\nd\"} 1\n", text);
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.WithLabels("x").Inc(-1));
    }

    [Fact]
    public void A_labelled_counter_keeps_at_most_the_bound_of_label_values_and_counts_the_rest_under_other()
    {
        var counter = new ShimCounter("t_bounded_total", "Bounded.", "v");
        for (var i = 0; i < ShimCounter.MaxChildren + 5; i++)
        {
            counter.WithLabels($"value{i}").Inc();
        }

        var lines = Write(counter).Split('\n').Where(l => l.StartsWith("t_bounded_total{", StringComparison.Ordinal)).ToList();

        Assert.Equal(ShimCounter.MaxChildren + 1, lines.Count);
        Assert.Contains("t_bounded_total{v=\"other\"} 5", lines);
    }

    [Fact]
    public void A_histogram_writes_cumulative_buckets_inf_sum_and_count()
    {
        var histogram = new ShimHistogram("t_duration_seconds", "Durations.", ShimHistogram.ExponentialBuckets(0.5, 2, 3)); // 0.5, 1, 2
        histogram.Observe(0.25);
        histogram.Observe(0.75);
        histogram.Observe(1.5);
        histogram.Observe(10);

        var text = Write(histogram);

        Assert.Contains("# TYPE t_duration_seconds histogram\n", text);
        Assert.Contains("t_duration_seconds_bucket{le=\"0.5\"} 1\n", text);
        Assert.Contains("t_duration_seconds_bucket{le=\"1\"} 2\n", text);
        Assert.Contains("t_duration_seconds_bucket{le=\"2\"} 3\n", text);
        Assert.Contains("t_duration_seconds_bucket{le=\"+Inf\"} 4\n", text);
        Assert.Contains("t_duration_seconds_sum 12.5\n", text);
        Assert.Contains("t_duration_seconds_count 4\n", text);
    }

    [Fact]
    public void The_exposition_carries_the_shim_metrics_and_the_process_metrics_prometheus_net_exported()
    {
        var text = ShimMetrics.Render();

        foreach (var name in new[]
        {
            "fnop_shim_invocations_total counter", "fnop_shim_errors_total counter", "fnop_shim_timeouts_total counter",
            "fnop_shim_cold_starts_total counter", "fnop_shim_runtime_restarts_total counter",
            "fnop_shim_invocation_duration_seconds histogram", "fnop_shim_init_duration_seconds histogram",
            "process_cpu_seconds_total counter", "process_working_set_bytes gauge", "process_virtual_memory_bytes gauge",
            "process_private_memory_bytes gauge", "process_open_handles gauge", "process_num_threads gauge",
            "process_start_time_seconds gauge", "dotnet_total_memory_bytes gauge", "dotnet_collection_count_total counter",
        })
        {
            Assert.Contains("# TYPE " + name + "\n", text);
        }

        var rss = text.Split('\n').Single(l => l.StartsWith("process_working_set_bytes ", StringComparison.Ordinal));
        Assert.True(double.Parse(rss["process_working_set_bytes ".Length..], System.Globalization.CultureInfo.InvariantCulture) > 1024 * 1024, rss);
        var start = text.Split('\n').Single(l => l.StartsWith("process_start_time_seconds ", StringComparison.Ordinal));
        var startedAt = DateTimeOffset.FromUnixTimeSeconds((long)double.Parse(start["process_start_time_seconds ".Length..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(startedAt, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    private static string Write(ShimMetric metric)
    {
        var text = new StringBuilder();
        metric.Write(text);
        return text.ToString();
    }
}
