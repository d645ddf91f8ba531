using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway;
using FnOperator.Gateway.Functions;
using FnOperator.KubeApiServer;
using FnOperator.Operator.Autoscaling;
using FnOperator.Operator.Hosting;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FnOperator.Benchmarks.Operator;

/// <summary>
/// Scale-from-zero decision latency: an async invoke to a version at zero (real gateway, in-memory queue) → the
/// leader's scale request (merge patch of the Deployment's /scale) stored by the API test server. The operator and
/// the gateway are real (in this process), connected over HTTP as in a cluster: the push stream
/// <c>/_fnop/v1/work-events</c>, the 1 s stats poll, the inspection credential. A second operator without the push
/// stream shows what the poll alone gives.
/// </summary>
public sealed class ScaleFromZeroBenchmark : IBenchmark
{
    private const int PushTrials = 200;
    private const int PollTrials = 40;
    private static readonly byte[] ClusterKey = "bench-cluster-key-0123456789abcdefghijklmnopqrstuv"u8.ToArray();

    public string Name => "operator-scale-from-zero";

    public string Description =>
        $"async invoke at zero → Deployment /scale patch stored, p50/p99 over {PushTrials} versions (push stream), and over {PollTrials} with the 1 s poll alone";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var stages = new Stages();
        var push = await MeasureAsync("push", PushTrials, pushStream: true, cancellationToken, stages).ConfigureAwait(false);
        var poll = await MeasureAsync("poll", PollTrials, pushStream: false, cancellationToken).ConfigureAwait(false);
        var goal = stages.Goal.Order().ToArray();
        return
        [
            $"goal measure, enqueue (the gateway queue's WorkArrived) → the operator's /scale PATCH sent: p50 {P(goal, 0.50):F1} ms, p90 {P(goal, 0.90):F1} ms, "
                + $"p99 {P(goal, 0.99):F1} ms, max {(goal.Length > 0 ? goal[^1] : double.NaN):F1} ms over {goal.Length} (target p99 ≤ 100 ms) {(P(goal, 0.99) <= 100 ? "OK" : "MISSED")}",
            $"by stage (p50 / p99 / max ms): invoke request sent → enqueued {stages.Describe(stages.Request)}; enqueued → SSE line at a second subscriber {stages.Describe(stages.Gateway)}; "
                + $"SSE line → operator's PATCH sent {stages.Describe(stages.Operator)}; PATCH sent → stored {stages.Describe(stages.Api)}",
            $"push: enqueue → scale request p50 {P(push, 0.50):F1} ms, p99 {P(push, 0.99):F1} ms, max {push[^1]:F1} ms over {push.Length} cold versions (target p99 ≤ 100 ms) {(P(push, 0.99) <= 100 ? "OK" : "MISSED")}",
            $"push: p90 {P(push, 0.90):F1} ms, p95 {P(push, 0.95):F1} ms; trials over 100 ms: {push.Count(l => l > 100)}",
            $"poll alone (1 s interval): p50 {P(poll, 0.50):F1} ms, p99 {P(poll, 0.99):F1} ms, max {poll[^1]:F1} ms over {poll.Length}",
            $"machine: {Environment.ProcessorCount} cores, load average {LoadAverage()} (API server, operator, gateway and client share them)",
        ];
    }

    /// <summary>Per-trial stage timings of the push path (bench-side observers only: a second SSE subscriber, the operator's HTTP handler).</summary>
    private sealed class Stages
    {
        public readonly ConcurrentDictionary<string, long> Enqueued = new();
        public readonly ConcurrentDictionary<string, long> Pushed = new();
        public readonly List<double> Goal = [];
        public readonly List<double> Request = [];
        public readonly ConcurrentDictionary<string, long> PatchSent = new();
        public readonly List<double> Gateway = [];
        public readonly List<double> Operator = [];
        public readonly List<double> Api = [];

        public void Add(string name, long start, long stored)
        {
            if (Enqueued.TryGetValue(name, out var enqueued) && PatchSent.TryGetValue(name, out var patched))
            {
                Goal.Add(Stopwatch.GetElapsedTime(enqueued, patched).TotalMilliseconds);
                Request.Add(Stopwatch.GetElapsedTime(start, enqueued).TotalMilliseconds);
            }

            if (Enqueued.TryGetValue(name, out enqueued) && Pushed.TryGetValue(name, out var pushed) && PatchSent.TryGetValue(name, out var sent))
            {
                Gateway.Add(Stopwatch.GetElapsedTime(enqueued, pushed).TotalMilliseconds);
                Operator.Add(Stopwatch.GetElapsedTime(pushed, sent).TotalMilliseconds);
                Api.Add(Stopwatch.GetElapsedTime(sent, stored).TotalMilliseconds);
            }
        }

        public string Describe(List<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length == 0 ? "n/a" : $"{P(sorted, 0.50):F1} / {P(sorted, 0.99):F1} / {sorted[^1]:F1} (n={sorted.Length})";
        }
    }

    /// <summary>Notes when the operator sends each /scale PATCH (before the API server sees it).</summary>
    private sealed class PatchTimer(Stages stages) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Patch && request.RequestUri?.AbsolutePath is { } path && path.EndsWith("/scale", StringComparison.Ordinal))
            {
                var deployment = path.Split('/')[^2];
                stages.PatchSent[deployment[..deployment.LastIndexOf('-')]] = Stopwatch.GetTimestamp(); // the last: the trial's scale-up (the one to zero came before)
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>A second subscriber of the gateway's push stream: when each version's push line arrives.</summary>
    private static async Task SubscribeAsync(Uri gateway, Stages stages, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, FnOperator.Contracts.PullProtocol.Prefix + "/work-events"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", FnOperator.Contracts.PullProtocol.InspectionCredential(ClusterKey));
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith("data:", StringComparison.Ordinal) && System.Text.Json.Nodes.JsonNode.Parse(line[5..])?["name"]?.GetValue<string>() is { } name)
                {
                    stages.Pushed.TryAdd(name, Stopwatch.GetTimestamp());
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<double[]> MeasureAsync(string prefix, int trials, bool pushStream, CancellationToken cancellationToken, Stages? stages = null)
    {
        await using var server = await KubeApiTestServer.StartAsync(new KubeApiServerOptions { CrdDirectory = CrdDirectory() });
        var gateway = GatewayApp.Build(
            new GatewayOptions { Listen = ["127.0.0.1:0"], ClusterKey = ClusterKey, ProtectQueueInspection = true },
            b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        await gateway.StartAsync(cancellationToken).ConfigureAwait(false);

        // Subscribed before the operator's stream, so this handler runs first at each enqueue (one invoke per version).
        var queue = gateway.Services.GetRequiredService<FnOperator.Gateway.Queue.IInvocationQueue>();
        void OnArrived(FunctionKey key) => stages?.Enqueued.TryAdd(key.Name, Stopwatch.GetTimestamp());
        queue.WorkArrived += OnArrived;
        var keyFile = Path.Combine(Path.GetTempPath(), $"fnop-bench-cluster-key-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(keyFile, ClusterKey, cancellationToken).ConfigureAwait(false);
        WebApplication? op = null;
        try
        {
            var gatewayUrl = GatewayApp.Addresses(gateway)[0];
            op = OperatorApp.Build(
                [
                    "--urls", "http://127.0.0.1:0",
                    "--Operator:PodName", "operator-bench",
                    "--Operator:PodNamespace", "fn-system",
                    "--Operator:GatewayUrl", gatewayUrl.ToString(),
                    "--Operator:InvokeBaseUrl", "http://invoke.bench",
                    "--Operator:ClusterKeyFile", keyFile,
                    "--Operator:Autoscaler:IdleOverride", "00:00:01",
                    "--Logging:LogLevel:Default", "Warning",
                ],
                services =>
                {
                    services.AddSingleton<IKubernetes>(stages is null
                        ? server.CreateClient()
                        : new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseUri.ToString() }, new PatchTimer(stages)));
                    if (!pushStream)
                    {
                        services.AddSingleton<IWorkEventSource>(new NoPushes());
                    }
                });
            await op.StartAsync(cancellationToken).ConfigureAwait(false);

            using var client = server.CreateClient();
            var registry = gateway.Services.GetRequiredService<FunctionRegistry>();
            var names = Enumerable.Range(0, trials).Select(i => $"{prefix}-{i:D3}").ToList();
            foreach (var name in names)
            {
                var fn = NewFunction(name);
                await client.CustomObjects.CreateNamespacedCustomObjectAsync(fn, ApiGroup.Group, ApiGroup.Version, "default", Function.Plural, cancellationToken: cancellationToken).ConfigureAwait(false);
                registry.Upsert(new FunctionKey("default", name), fn.Spec);
            }

            // Every version's Deployment at zero (idle window 1 s) before the trials.
            var deployments = server.Registry.Find("apps", "v1", "deployments")!.StorageKey;
            await WaitAsync(() => names.All(n => server.Store.List(deployments, "default").Items.Any(d => IsAtZero(d, n))), "all Deployments at zero", cancellationToken).ConfigureAwait(false);

            var scaled = new ConcurrentDictionary<string, TaskCompletionSource<long>>();
            foreach (var name in names)
            {
                scaled[name] = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            void OnChanged(StoredEvent e)
            {
                if (e.Resource == deployments && e.Type == "MODIFIED" && Replicas(e.Previous) == 0 && Replicas(e.Object) > 0
                    && e.Object["metadata"]?["labels"]?["fnoperator.io/function"]?.GetValue<string>() is { } fn && scaled.TryGetValue(fn, out var done))
                {
                    done.TrySetResult(Stopwatch.GetTimestamp());
                }
            }

            server.Store.Changed += OnChanged;
            using var stopSubscriber = new CancellationTokenSource();
            var subscriber = stages is null ? Task.CompletedTask : Task.Run(() => SubscribeAsync(gatewayUrl, stages, stopSubscriber.Token), CancellationToken.None);
            using var http = new HttpClient { BaseAddress = gatewayUrl };
            var latencies = new List<double>();
            var random = new Random(11);
            try
            {
                foreach (var name in names)
                {
                    // Spread the enqueues uniformly over the poll's phase (the previous trial ended just after a decision).
                    await Task.Delay(random.Next(0, 1000), cancellationToken).ConfigureAwait(false);
                    using var request = new HttpRequestMessage(HttpMethod.Post, $"/2015-03-31/functions/{name}/invocations") { Content = new StringContent("{}") };
                    request.Headers.Add("X-Amz-Invocation-Type", "Event");
                    var start = Stopwatch.GetTimestamp();
                    using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                    if (response.StatusCode != HttpStatusCode.Accepted)
                    {
                        throw new InvalidOperationException($"invoke {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)}");
                    }

                    var at = await scaled[name].Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                    latencies.Add(Stopwatch.GetElapsedTime(start, at).TotalMilliseconds);
                    stages?.Add(name, start, at);
                }
            }
            finally
            {
                server.Store.Changed -= OnChanged;
                queue.WorkArrived -= OnArrived;
                await stopSubscriber.CancelAsync().ConfigureAwait(false);
                await subscriber.ConfigureAwait(false);
            }

            latencies.Sort();
            return [.. latencies];
        }
        finally
        {
            if (op is not null)
            {
                await op.StopAsync(CancellationToken.None).ConfigureAwait(false);
                await op.DisposeAsync().ConfigureAwait(false);
            }

            await gateway.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await gateway.DisposeAsync().ConfigureAwait(false);
            File.Delete(keyFile);
        }
    }

    /// <summary>The baseline's push source: the stream never delivers (as when it cannot connect), so only the poll scales.</summary>
    private sealed class NoPushes : IWorkEventSource
    {
        public async IAsyncEnumerable<VersionKey> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            yield break;
        }
    }

    private static bool IsAtZero(JsonObject d, string name) =>
        d["metadata"]?["labels"]?["fnoperator.io/function"]?.GetValue<string>() == name && Replicas(d) == 0;

    private static long Replicas(JsonObject? d) => d?["spec"]?["replicas"] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 1;

    private static async Task WaitAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private static double P(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

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
            Scaling = new ScalingSpec { MaxReplicas = 2 },
        },
    };
}
