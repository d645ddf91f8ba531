using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FnOperator.Api;
using FnOperator.Operator;
using FnOperator.KubeApiServer;
using k8s;
using k8s.Models;

namespace FnOperator.Benchmarks.Operator;

/// <summary>
/// 1,000 Functions created against the API test server (which plays the Deployment controller: ready replicas
/// appear as soon as a Deployment is written) → all Ready, with the operator as its own process. Target ≤ 10 s, ≤ 150 MB.
/// </summary>
public sealed class OperatorScaleBenchmark : IBenchmark
{
    private const int Functions = 1000;
    private const int CreateParallelism = 8;
    private const double BytesPerMiB = 1024 * 1024;

    public string Name => "operator";

    public string Description => $"{Functions} Functions created → all Ready (operator process against the API test server)";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        await using var server = await KubeApiTestServer.StartAsync(new KubeApiServerOptions { CrdDirectory = CrdDirectory() });
        using var client = server.CreateClient();
        await using var op = OperatorProcess.Start(server.BaseUri);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await WaitAsync(async () => await IsLeaderAsync(http, op), "operator ready and leading", TimeSpan.FromSeconds(60), op, cancellationToken);
        var baselineMiB = op.ResidentMiB();
        var (baselineAnon, baselineFile) = op.ResidentSplitMiB();
        var baselineCpu = op.CpuTime();

        await using var counter = new ReadyCounter(client, "default");
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Functions), new ParallelOptions { MaxDegreeOfParallelism = CreateParallelism, CancellationToken = cancellationToken },
            async (i, ct) => await client.CustomObjects.CreateNamespacedCustomObjectAsync(
                NewFunction($"bench-{i:D4}"), ApiGroup.Group, ApiGroup.Version, "default", Function.Plural, cancellationToken: ct));
        var created = clock.Elapsed;
        var ready = 0;
        await WaitAsync(() => Task.FromResult((ready = counter.Ready) == Functions), "all Functions Ready", TimeSpan.FromMinutes(5), op, cancellationToken);
        var allReady = clock.Elapsed;
        var cpu = op.CpuTime() - baselineCpu;

        var metrics = await http.GetStringAsync(new Uri(op.Url, "/metrics"), cancellationToken);
        var peakMiB = op.PeakResidentMiB();
        var (endAnon, endFile) = op.ResidentSplitMiB();
        var heapMiB = Gauge(metrics, "dotnet_total_memory_bytes") / (1024 * 1024);
        var reconciles = Regex.Matches(metrics, "fnoperator_reconcile_total\\{kind=\"Function\",result=\"[a-z]+\"\\} ([0-9.e+]+)")
            .Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        return
        [
            $"functions: {Functions} created in {created.TotalSeconds:F2} s ({CreateParallelism} parallel clients), {ready} Ready",
            $"time to all Ready: {allReady.TotalSeconds:F2} s (target ≤ 10 s) {Verdict(allReady.TotalSeconds <= 10)}",
            $"operator peak resident memory (VmHWM of its own process): {peakMiB:F0} MiB = {peakMiB * BytesPerMiB / 1e6:F0} MB (target ≤ 150 MB) {Verdict(peakMiB * BytesPerMiB <= 150e6)}",
            $"operator resident memory: at start {baselineMiB:F0} MiB ({baselineAnon:F0} anonymous + {baselineFile:F0} file-backed), at the end {endAnon + endFile:F0} MiB ({endAnon:F0} + {endFile:F0})",
            $"operator managed heap after the run (dotnet_total_memory_bytes): {heapMiB:F0} MiB",
            $"operator CPU time during the run: {cpu.TotalSeconds:F2} s; reconciles: {reconciles:F0}; 409 conflicts answered: {server.Conflicts}",
            $"machine load average at the end: {LoadAverage()} (the API test server and this client share the machine)",
        ];
    }

    // The committed CRDs, so the server admits Functions as a cluster would (schema and CEL rules).
    private static string CrdDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FnOperator.sln")))
            {
                return Path.Combine(dir.FullName, "crds");
            }
        }

        throw new InvalidOperationException("FnOperator.sln not found above " + AppContext.BaseDirectory);
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string Verdict(bool met) => met ? "OK" : "MISSED";

    private static Function NewFunction(string name) => new()
    {
        ApiVersion = $"{ApiGroup.Group}/{ApiGroup.Version}",
        Kind = Function.KindName,
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
        Spec = new FunctionSpec
        {
            Runtime = "nodejs22.x",
            Handler = "index.handler",
            Code = new FunctionCode { Url = $"https://code.example.com/{name}.zip", Sha256 = new string('a', 64) },
        },
    };

    private static async Task<bool> IsLeaderAsync(HttpClient http, OperatorProcess op)
    {
        try
        {
            return (await http.GetStringAsync(new Uri(op.Url, "/readyz"))).Contains("leader", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static double Gauge(string metrics, string name)
    {
        var match = Regex.Match(metrics, $"(?m)^{name} ([0-9.e+]+)$");
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan timeout, OperatorProcess op, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (op.HasExited)
            {
                throw new InvalidOperationException($"The operator exited while waiting for: {what}");
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:F0} s waiting for: {what}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}
