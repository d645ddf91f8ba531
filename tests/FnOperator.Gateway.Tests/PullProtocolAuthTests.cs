using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>Only the function version's own credential leases its invocations and answers them; queue inspection is protected.</summary>
public sealed class PullProtocolAuthTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Next_without_a_credential_or_with_another_functions_is_refused_and_leases_nothing(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("secret");
        gateway.Add("other");
        using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("secret", """{"card":"4111"}""", "Event"));
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };
        using var other = gateway.PullClient(new FunctionKey("default", "other"));
        using var forged = new HttpClient { BaseAddress = gateway.BaseAddress };
        forged.DefaultRequestHeaders.Add(PullProtocol.CredentialHeader, PullProtocol.Credential("another-cluster-key-0123456789abcdef"u8, "default", "secret", "$LATEST"));
        var next = PullProtocol.NextPath("default", "secret", "$LATEST") + "?waitMs=200";

        using var noCredential = await anonymous.GetAsync(next);
        using var otherCredential = await other.GetAsync(next);
        using var wrongKey = await forged.GetAsync(next);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noCredential.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, otherCredential.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, wrongKey.StatusCode);
        var queue = gateway.App.Services.GetRequiredService<IInvocationQueue>();
        await TestWait.UntilAsync(() => queue.GetStats(key) == new QueueStats(1, 0, 0));
        using var owner = gateway.PullClient(key);
        using var leased = await owner.GetAsync(next.Replace("waitMs=200", "waitMs=5000", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, leased.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Queues.Both), MemberType = typeof(Queues))]
    public async Task Result_from_another_function_or_for_an_old_lease_is_refused_and_the_caller_gets_the_real_one(QueueKind kind)
    {
        await using var gateway = await TestGateway.StartAsync(queue: kind);
        var key = gateway.Add("victim");
        gateway.Add("attacker");
        using var owner = gateway.PullClient(key);
        using var attacker = gateway.PullClient(new FunctionKey("default", "attacker"));
        var call = gateway.Client.SendAsync(TestGateway.Invoke("victim", """{"q":1}"""));
        var invocation = await LeaseAsync(owner, key);

        using var forgedResult = await PostResultAsync(attacker, invocation, invocation.LeaseToken, "\"forged\"");
        using var withoutLease = await PostResultAsync(owner, invocation, null, "\"no lease\"");
        using var realResult = await PostResultAsync(owner, invocation, invocation.LeaseToken, "\"real\"");
        using var duplicate = await PostResultAsync(owner, invocation, invocation.LeaseToken, "\"late duplicate\"");
        using var response = await call;

        Assert.Equal(HttpStatusCode.Forbidden, forgedResult.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, withoutLease.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, realResult.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, duplicate.StatusCode);
        Assert.Equal("\"real\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Queue_inspection_needs_the_inspection_credential_when_protected()
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, ProtectQueueInspection = true });
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };
        using var functionCredential = gateway.PullClient(new FunctionKey("default", "f"));
        using var inspector = new HttpClient { BaseAddress = gateway.BaseAddress };
        inspector.DefaultRequestHeaders.Authorization = new("Bearer", PullProtocol.InspectionCredential(TestGateway.ClusterKey));
        using var wrong = new HttpClient { BaseAddress = gateway.BaseAddress };
        wrong.DefaultRequestHeaders.Authorization = new("Bearer", PullProtocol.Credential(TestGateway.ClusterKey, "default", "f", "$LATEST"));

        using var none = await anonymous.GetAsync("/_fnop/v1/queues");
        using var function = await functionCredential.GetAsync("/_fnop/v1/queues/default.f.dlq/messages");
        using var denied = await wrong.GetAsync("/_fnop/v1/queues");
        using var allowed = await inspector.GetAsync("/_fnop/v1/queues");

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, function.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public void Credential_is_a_pure_function_of_key_and_function_version()
    {
        var key = "0123456789abcdef0123456789abcdef"u8.ToArray();
        var a = PullProtocol.Credential(key, "default", "hello", "$LATEST");

        Assert.Equal(a, PullProtocol.Credential(key, "default", "hello", "$LATEST"));
        Assert.True(PullProtocol.Verify(key, "default", "hello", "$LATEST", a));
        Assert.False(PullProtocol.Verify(key, "default", "hello", "1", a));
        Assert.False(PullProtocol.Verify(key, "team", "hello", "$LATEST", a));
        Assert.False(PullProtocol.Verify(key, "default", "hello", "$LATEST", null));
        Assert.DoesNotContain('=', a);
        Assert.Equal(43, a.Length);
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

    private static Task<HttpResponseMessage> PostResultAsync(HttpClient client, Invocation invocation, string? lease, string payload)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(invocation.RequestId))
        {
            Content = JsonContent.Create(TestWorker.Ok(invocation, payload), options: Json),
        };
        if (lease is not null)
        {
            request.Headers.Add(PullProtocol.LeaseTokenHeader, lease);
        }

        return client.SendAsync(request);
    }
}
