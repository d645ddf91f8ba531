using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Gateway;
using FnOperator.Gateway.Functions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FnOperator.Benchmarks.Gateway;

/// <summary>
/// What a Function URL adds over the Invoke API for the same no-op function: one caller alternates a POST to the
/// Invoke API and a POST to the function's URL (host-based and path-based), answered by in-process pull workers that
/// return {} at once. The difference is the URL's own work: routing, the event build, the response mapping.
/// </summary>
public sealed class UrlVsInvokeBenchmark : IBenchmark
{
    private const int Rounds = 3_000;
    private const int Warmup = 300;
    private const int Workers = 4;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Name => "url-vs-invoke";

    public string Description =>
        $"added latency of a Function URL request vs the Invoke API for the same no-op (one caller, {Rounds} rounds of invoke / host URL / path URL, {Workers} in-process workers)";

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        var app = GatewayApp.Build(new GatewayOptions { Listen = ["127.0.0.1:0"], UrlDomain = "localhost" }, b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var baseAddress = GatewayApp.Addresses(app)[0];
            var key = new FunctionKey("default", "noop");
            app.Services.GetRequiredService<FunctionRegistry>().Upsert(key, new FunctionSpec { Runtime = "provided.al2023", TimeoutSeconds = 30, Url = new FunctionUrlSpec() });
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var workerClient = new HttpClient { BaseAddress = baseAddress };
            var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(() => NoOpWorkerAsync(workerClient, key, stop.Token))).ToList();
            using var client = new HttpClient { BaseAddress = baseAddress };
            var host = $"noop.default.localhost:{baseAddress.Port}";

            var invoke = new double[Rounds];
            var hostUrl = new double[Rounds];
            var pathUrl = new double[Rounds];
            for (var i = -Warmup; i < Rounds; i++)
            {
                var a = await TimeAsync(client, "/2015-03-31/functions/noop/invocations", null, "{}", cancellationToken).ConfigureAwait(false);
                var b = await TimeAsync(client, "/items?x=1", host, "{\"a\":1}", cancellationToken).ConfigureAwait(false);
                var c = await TimeAsync(client, "/url/default/noop/items?x=1", null, "{\"a\":1}", cancellationToken).ConfigureAwait(false);
                if (i >= 0)
                {
                    (invoke[i], hostUrl[i], pathUrl[i]) = (a, b, c);
                }
            }

            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(workers).ConfigureAwait(false);
            Array.Sort(invoke);
            Array.Sort(hostUrl);
            Array.Sort(pathUrl);
            double P(double[] s, double p) => GatewayInProcessBenchmark.Percentile(s, p);
            return
            [
                $"Invoke API p50/p99: {P(invoke, 0.50):F3} / {P(invoke, 0.99):F3} ms",
                $"host-based URL p50/p99: {P(hostUrl, 0.50):F3} / {P(hostUrl, 0.99):F3} ms",
                $"path-based URL p50/p99: {P(pathUrl, 0.50):F3} / {P(pathUrl, 0.99):F3} ms",
                $"added by the URL at p50: host {P(hostUrl, 0.50) - P(invoke, 0.50):F3} ms, path {P(pathUrl, 0.50) - P(invoke, 0.50):F3} ms (target ≤ 0.5 ms)",
                $"machine: {Environment.ProcessorCount} cores, load average {GatewayInProcessBenchmark.LoadAverage()}",
            ];
        }
        finally
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<double> TimeAsync(HttpClient client, string path, string? host, string body, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK || text != "{}")
        {
            throw new InvalidOperationException($"{path} answered {(int)response.StatusCode}: {text}");
        }

        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static async Task NoOpWorkerAsync(HttpClient client, FunctionKey key, CancellationToken ct)
    {
        var next = PullProtocol.NextPath(key.Namespace, key.Name, FunctionRegistry.Latest) + "?waitMs=1000";
        var empty = Encoding.UTF8.GetBytes("{}");
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var response = await client.GetAsync(next, ct).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    continue;
                }

                var invocation = (await response.Content.ReadFromJsonAsync<Invocation>(Json, ct).ConfigureAwait(false))!;
                var result = new InvocationResult { RequestId = invocation.RequestId, Outcome = InvocationOutcome.Success, Payload = empty, ExecutedVersion = invocation.Version };
                using var post = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(invocation.RequestId)) { Content = JsonContent.Create(result, options: Json) };
                post.Headers.Add(PullProtocol.LeaseTokenHeader, invocation.LeaseToken);
                using var posted = await client.SendAsync(post, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
