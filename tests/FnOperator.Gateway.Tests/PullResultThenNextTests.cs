using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>
/// A result posted with <c>?next=N</c> (<see cref="PullProtocol.NextAfterResultParameter"/>) is recorded at once and its
/// response is the worker's long poll for the next invocation: one exchange per invocation instead of two.
/// </summary>
public sealed class PullResultThenNextTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task The_caller_is_answered_before_the_next_invocation_exists_and_that_invocation_arrives_in_the_results_response(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("chain");
        using var worker = gateway.PullClient(key);
        var first = gateway.Client.SendAsync(TestGateway.Invoke("chain", """{"n":1}"""));
        var one = await LeaseAsync(worker, key);

        using var held = await worker.SendAsync(ResultRequest(one, "\"one\"", "?next=60000"), HttpCompletionOption.ResponseHeadersRead);
        using var firstAnswer = await first;
        // The second call is made only now, after the first caller has its answer, so the response held open above
        // can only carry it if that response is a long poll.
        var second = gateway.Client.SendAsync(TestGateway.Invoke("chain", """{"n":2}"""));
        var two = JsonSerializer.Deserialize<Invocation>(await held.Content.ReadAsByteArrayAsync(), Json)!;
        using var plain = await worker.SendAsync(ResultRequest(two, "\"two\""));
        using var secondAnswer = await second;

        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        Assert.Equal("\"one\"", await firstAnswer.Content.ReadAsStringAsync());
        Assert.Equal("""{"n":2}""", System.Text.Encoding.UTF8.GetString(two.Payload));
        Assert.False(string.IsNullOrEmpty(two.LeaseToken));
        Assert.NotEqual(one.RequestId, two.RequestId);
        Assert.Equal(HttpStatusCode.Accepted, plain.StatusCode);
        Assert.Equal("\"two\"", await secondAnswer.Content.ReadAsStringAsync());
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task With_no_work_within_the_wait_the_response_ends_empty_and_the_result_stays_recorded(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("idle");
        using var worker = gateway.PullClient(key);
        var call = gateway.Client.SendAsync(TestGateway.Invoke("idle", """{"n":1}"""));
        var one = await LeaseAsync(worker, key);

        using var held = await worker.SendAsync(ResultRequest(one, "\"done\"", "?next=300"));
        using var answer = await call;
        using var again = await worker.SendAsync(ResultRequest(one, "\"again\"", "?next=300"));

        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        Assert.Empty(await held.Content.ReadAsByteArrayAsync());
        Assert.Equal("\"done\"", await answer.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    private static HttpRequestMessage ResultRequest(Invocation invocation, string payload, string query = "")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(invocation.RequestId) + query)
        {
            Content = JsonContent.Create(TestWorker.Ok(invocation, payload), options: Json),
        };
        request.Headers.Add(PullProtocol.LeaseTokenHeader, invocation.LeaseToken!);
        return request;
    }

    private static async Task<Invocation> LeaseAsync(HttpClient client, FunctionKey key)
    {
        for (var i = 0; i < 60; i++)
        {
            using var response = await client.GetAsync(PullProtocol.NextPath(key.Namespace, key.Name, "$LATEST") + "?waitMs=1000");
            Assert.True(response.IsSuccessStatusCode, $"next answered {response.StatusCode}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return (await response.Content.ReadFromJsonAsync<Invocation>(Json))!;
            }
        }

        throw new TimeoutException("nothing leased");
    }
}
