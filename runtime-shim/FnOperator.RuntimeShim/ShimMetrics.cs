using System.Globalization;
using System.Text;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The shim's Prometheus metrics (served on FNOP_HTTP_ADDRESS /metrics) in the text exposition format 0.0.4, written by
/// hand: prometheus-net's registry, its collectors and its ASP.NET Core exporter were a measurable part of the AOT shim's
/// start-up and RSS (issue #11, docs/runtime-shim.md). The metric names, types and labels are those the shim exported
/// through prometheus-net, including its default process metrics (read from /proc at scrape time).
/// </summary>
public static class ShimMetrics
{
    private static readonly List<ShimMetric> All = [];

    public static readonly ShimCounter Invocations = Add(new ShimCounter(
        "fnop_shim_invocations_total", "Invocations run by this shim, by outcome (Success, FunctionError).", "outcome"));

    public static readonly ShimCounter Errors = Add(new ShimCounter(
        "fnop_shim_errors_total", "Failed invocations by Lambda error type.", "error_type"));

    public static readonly ShimCounter Timeouts = Add(new ShimCounter(
        "fnop_shim_timeouts_total", "Invocations that exceeded the function timeout (Sandbox.Timedout)."));

    public static readonly ShimCounter ColdStarts = Add(new ShimCounter(
        "fnop_shim_cold_starts_total", "Invocations that ran on a freshly initialised runtime."));

    public static readonly ShimCounter RuntimeRestarts = Add(new ShimCounter(
        "fnop_shim_runtime_restarts_total", "Times the runtime was killed and started again (timeout, crash)."));

    public static readonly ShimHistogram Duration = Add(new ShimHistogram(
        "fnop_shim_invocation_duration_seconds", "Invocation duration as reported in REPORT.", ShimHistogram.ExponentialBuckets(0.0005, 2, 20)));

    public static readonly ShimHistogram InitDuration = Add(new ShimHistogram(
        "fnop_shim_init_duration_seconds", "Runtime initialisation duration (start until its first GET next).", ShimHistogram.ExponentialBuckets(0.01, 2, 14)));

    /// <summary>The exposition of every metric, then the process metrics.</summary>
    public static string Render()
    {
        var text = new StringBuilder(4096);
        lock (All)
        {
            foreach (var metric in All)
            {
                metric.Write(text);
            }
        }

        ProcessMetrics.Write(text);
        return text.ToString();
    }

    /// <summary>The /metrics endpoint's body and content type.</summary>
    public static Task WriteAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        return context.Response.WriteAsync(Render(), context.RequestAborted);
    }

    private static T Add<T>(T metric)
        where T : ShimMetric
    {
        lock (All)
        {
            All.Add(metric);
        }

        return metric;
    }

    internal static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString(CultureInfo.InvariantCulture);

    internal static void Header(StringBuilder text, string name, string help, string type)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    internal static string LabelValue(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}

public abstract class ShimMetric(string name, string help)
{
    public string Name { get; } = name;

    public string Help { get; } = help;

    internal abstract void Write(StringBuilder text);
}

/// <summary>A counter, unlabelled or with one label (children created on first use, as prometheus-net's WithLabels).</summary>
public sealed class ShimCounter : ShimMetric
{
    /// <summary>Bounds the children of a labelled counter (label values are outcomes and error types, a small set).</summary>
    public const int MaxChildren = 1000;

    private readonly string? _label;
    private readonly Dictionary<string, Child> _children = new(StringComparer.Ordinal);
    private readonly Child _unlabelled = new();

    public ShimCounter(string name, string help, string? label = null)
        : base(name, help)
    {
        _label = label;
    }

    public void Inc(double by = 1) => _unlabelled.Inc(by);

    public double Value => _unlabelled.Value;

    /// <summary>The child for <paramref name="value"/>; past <see cref="MaxChildren"/> distinct values they share "other".</summary>
    public Child WithLabels(string value)
    {
        lock (_children)
        {
            if (!_children.TryGetValue(value, out var child))
            {
                if (_children.Count >= MaxChildren)
                {
                    value = "other";
                    if (_children.TryGetValue(value, out child))
                    {
                        return child;
                    }
                }

                child = new Child();
                _children[value] = child;
            }

            return child;
        }
    }

    internal override void Write(StringBuilder text)
    {
        ShimMetrics.Header(text, Name, Help, "counter");
        if (_label is null)
        {
            text.Append(Name).Append(' ').Append(ShimMetrics.Number(_unlabelled.Value)).Append('\n');
            return;
        }

        lock (_children)
        {
            foreach (var (value, child) in _children)
            {
                text.Append(Name).Append('{').Append(_label).Append("=\"").Append(ShimMetrics.LabelValue(value)).Append("\"} ")
                    .Append(ShimMetrics.Number(child.Value)).Append('\n');
            }
        }
    }

    public sealed class Child
    {
        private double _value;

        public double Value => Volatile.Read(ref _value);

        public void Inc(double by = 1)
        {
            if (by < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(by), "A counter only goes up.");
            }

            double seen, next;
            do
            {
                seen = Volatile.Read(ref _value);
                next = seen + by;
            }
            while (Interlocked.CompareExchange(ref _value, next, seen) != seen);
        }
    }
}

/// <summary>A histogram with fixed upper bounds (cumulative buckets, _sum, _count, as prometheus-net wrote them).</summary>
public sealed class ShimHistogram : ShimMetric
{
    private readonly double[] _bounds;
    private readonly long[] _counts;
    private double _sum;
    private long _count;

    public ShimHistogram(string name, string help, double[] bounds)
        : base(name, help)
    {
        _bounds = bounds;
        _counts = new long[bounds.Length];
    }

    public long Count => Interlocked.Read(ref _count);

    public static double[] ExponentialBuckets(double start, double factor, int count)
    {
        var bounds = new double[count];
        var next = start;
        for (var i = 0; i < count; i++)
        {
            bounds[i] = next;
            next *= factor;
        }

        return bounds;
    }

    public void Observe(double value)
    {
        if (double.IsNaN(value))
        {
            return;
        }

        lock (_counts)
        {
            for (var i = 0; i < _bounds.Length; i++)
            {
                if (value <= _bounds[i])
                {
                    _counts[i]++;
                    break;
                }
            }

            _sum += value;
            _count++;
        }
    }

    internal override void Write(StringBuilder text)
    {
        ShimMetrics.Header(text, Name, Help, "histogram");
        lock (_counts)
        {
            long cumulative = 0;
            for (var i = 0; i < _bounds.Length; i++)
            {
                cumulative += _counts[i];
                text.Append(Name).Append("_bucket{le=\"").Append(ShimMetrics.Number(_bounds[i])).Append("\"} ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }

            text.Append(Name).Append("_bucket{le=\"+Inf\"} ").Append(_count.ToString(CultureInfo.InvariantCulture)).Append('\n');
            text.Append(Name).Append("_sum ").Append(ShimMetrics.Number(_sum)).Append('\n');
            text.Append(Name).Append("_count ").Append(_count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }
}

/// <summary>
/// prometheus-net's default process metrics under the same names, read from /proc/self at scrape time (Linux; on another
/// OS only what .NET itself knows is written).
/// </summary>
internal static class ProcessMetrics
{
    private const double ClockTicksPerSecond = 100; // USER_HZ: 100 on every Linux ABI .NET runs on

    public static void Write(StringBuilder text)
    {
        var stat = ReadStat();
        if (stat is { } s)
        {
            Gauge(text, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", (s.UserTicks + s.SystemTicks) / ClockTicksPerSecond);
            Gauge(text, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", s.VirtualBytes);
            Gauge(text, "process_working_set_bytes", "Process working set", "gauge", s.ResidentPages * (double)Environment.SystemPageSize);
            if (BootTimeSeconds() is { } boot)
            {
                Gauge(text, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", boot + (s.StartTicks / ClockTicksPerSecond));
            }

            Gauge(text, "process_num_threads", "Total number of threads", "gauge", s.Threads);
        }

        if (StatusKilobytes("RssAnon:") is { } anon)
        {
            Gauge(text, "process_private_memory_bytes", "Process private memory size", "gauge", anon * 1024.0);
        }

        try
        {
            Gauge(text, "process_open_handles", "Number of open handles", "gauge", Directory.GetFileSystemEntries("/proc/self/fd").Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        Gauge(text, "dotnet_total_memory_bytes", "Total known allocated memory", "gauge", GC.GetTotalMemory(false));
        ShimMetrics.Header(text, "dotnet_collection_count_total", "GC collection count", "counter");
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            text.Append("dotnet_collection_count_total{generation=\"").Append(generation.ToString(CultureInfo.InvariantCulture)).Append("\"} ")
                .Append(GC.CollectionCount(generation).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static void Gauge(StringBuilder text, string name, string help, string type, double value)
    {
        ShimMetrics.Header(text, name, help, type);
        text.Append(name).Append(' ').Append(ShimMetrics.Number(value)).Append('\n');
    }

    private readonly record struct Stat(double UserTicks, double SystemTicks, double Threads, double StartTicks, double VirtualBytes, double ResidentPages);

    private static Stat? ReadStat()
    {
        try
        {
            var line = File.ReadAllText("/proc/self/stat");
            // Fields after the command (which may hold spaces and parentheses): state is field 3.
            var fields = line[(line.LastIndexOf(')') + 2)..].Split(' ');
            double F(int field) => double.Parse(fields[field - 3], CultureInfo.InvariantCulture);
            return new Stat(F(14), F(15), F(20), F(22), F(23), F(24));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static double? BootTimeSeconds()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/stat"))
            {
                if (line.StartsWith("btime ", StringComparison.Ordinal))
                {
                    return double.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }

        return null;
    }

    private static double? StatusKilobytes(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return double.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }

        return null;
    }
}
