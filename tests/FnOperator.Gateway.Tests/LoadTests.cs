using System.Net;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

public sealed class LoadTests
{
    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Thousand_concurrent_sync_invocations_across_three_functions_all_get_their_own_answer(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var keys = new[] { gateway.Add("alpha"), gateway.Add("beta"), gateway.Add("gamma", ns: "team") };
        var workers = keys.Select(k => new TestWorker(gateway.BaseAddress, k,
            inv => TestWorker.Ok(inv, $$"""{"fn":"{{inv.FunctionName}}","echo":{{System.Text.Encoding.UTF8.GetString(inv.Payload)}}}"""), concurrency: 8)).ToList();
        try
        {
            var names = new[] { "alpha", "beta", "team/gamma" };
            var calls = Enumerable.Range(0, 1000).Select(async i =>
            {
                var name = names[i % 3];
                using var response = await gateway.Client.SendAsync(TestGateway.Invoke(name.Replace("/", "%2F", StringComparison.Ordinal), $$"""{"i":{{i}}}"""));
                return (i, name, response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            });

            var results = await Task.WhenAll(calls);

            Assert.All(results, r =>
            {
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                var body = JsonNode.Parse(r.Body)!;
                Assert.Equal(r.name.Split('/').Last(), (string?)body["fn"]);
                Assert.Equal(r.i, (int)body["echo"]!["i"]!);
            });
            Assert.Equal(1000, workers.Sum(w => w.Received.Count));
            Assert.Equal(1000, workers.SelectMany(w => w.Received).Select(i => i.RequestId).Distinct().Count());
            var queue = gateway.App.Services.GetRequiredService<IInvocationQueue>();
            await TestWait.UntilAsync(() => keys.All(k => queue.GetStats(k) == new QueueStats(0, 0, 0)));
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }
        }
    }
}
