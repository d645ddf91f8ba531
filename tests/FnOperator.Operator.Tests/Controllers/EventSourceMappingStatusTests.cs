using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.EventSources.Tests;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Runtime;
using Microsoft.Extensions.DependencyInjection;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>
/// A mapping's status end to end: the operator against the API test server, a real redis-server with a password, the
/// source credentials read from the mapping's credentialsSecretRef. Wrong or missing credentials: SourceReady=False
/// AuthFailed with a Warning Event; the right ones: Enabled and Ready, and after each batch lastProcessingResult (OK or
/// PROBLEM: …) and lastProcessedAt. The function is the invoker seam (the gateway has its own tests).
/// </summary>
public sealed class EventSourceMappingStatusTests : IAsyncLifetime
{
    private const string Password = "s3cret-pass";
    private readonly RecordingInvoker invoker = new();
    private ServerProcess redis = null!;
    private OperatorHarness harness = null!;

    public async Task InitializeAsync()
    {
        redis = await ServerProcess.RedisAsync("--requirepass", Password);
        harness = await OperatorHarness.StartAsync(services: s => s.AddSingleton<IFunctionInvoker>(invoker));
    }

    public async Task DisposeAsync()
    {
        await harness.DisposeAsync();
        await redis.DisposeAsync();
    }

    [Fact]
    public async Task Wrong_or_missing_credentials_report_AuthFailed_and_the_Secrets_credentials_poll_and_report_the_last_processing_result()
    {
        await CreateSecretAsync("redis-good", Password);
        await CreateSecretAsync("redis-bad", "not-the-password");
        await harness.CreateAsync(TestFunctions.Node("worker"));
        await CreateMappingAsync("wrong", "redis-bad");
        await CreateMappingAsync("missing", "no-such-secret");
        await CreateMappingAsync("good", "redis-good");

        foreach (var name in new[] { "wrong", "missing" })
        {
            await WaitAsync(name, m => Condition(m, EventSourceMappingConditions.SourceReady) is { Status: ConditionStatus.False, Reason: EventSourceMappingReasons.AuthFailed }, "AuthFailed", 90);
            Assert.Equal(ConditionStatus.False, Condition(await GetAsync(name), ConditionTypes.Ready)!.Status);
            Assert.NotEqual(EventSourceMappingStates.Enabled, (await GetAsync(name))!.Status!.State);
            await harness.WaitEventAsync(name, "Warning", EventSourceMappingReasons.AuthFailed);
        }

        var wrong = Condition(await GetAsync("wrong"), EventSourceMappingConditions.SourceReady)!.Message;
        Assert.Contains($"127.0.0.1:{redis.Port}", wrong, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", wrong, StringComparison.Ordinal);
        Assert.Contains("no-such-secret", Condition(await GetAsync("missing"), EventSourceMappingConditions.SourceReady)!.Message, StringComparison.Ordinal);

        await WaitAsync("good", m => m.Status?.State == EventSourceMappingStates.Enabled && Condition(m, ConditionTypes.Ready)?.Status == ConditionStatus.True, "Enabled and Ready", 90);
        Assert.Null((await GetAsync("good"))!.Status!.LastProcessedAt);
        var beforeFirst = DateTime.UtcNow.AddSeconds(-1);
        await PushAsync("hello");
        await WaitAsync("good", m => m.Status?.LastProcessingResult == "OK" && m.Status.LastProcessedAt is not null, "lastProcessingResult OK", 90);
        Assert.True((await GetAsync("good"))!.Status!.LastProcessedAt >= beforeFirst, "lastProcessedAt is the time of the batch");
        Assert.Equal(["hello"], invoker.Bodies);
        Assert.Equal("default/worker", invoker.Functions.Single());

        invoker.Fail = true;
        await PushAsync("boom");
        await WaitAsync("good", m => m.Status?.LastProcessingResult?.StartsWith("PROBLEM: ", StringComparison.Ordinal) == true, "lastProcessingResult PROBLEM", 90);
        Assert.Contains("Unhandled", (await GetAsync("good"))!.Status!.LastProcessingResult, StringComparison.Ordinal);
        Assert.Equal(ConditionStatus.True, Condition(await GetAsync("good"), EventSourceMappingConditions.SourceReady)!.Status); // a function error is not a source problem
    }

    private async Task PushAsync(string body)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, redis.Port);
        var stream = tcp.GetStream();
        var command = $"*2\r\n$4\r\nAUTH\r\n${Password.Length}\r\n{Password}\r\n*3\r\n$5\r\nLPUSH\r\n$4\r\njobs\r\n${Encoding.UTF8.GetByteCount(body)}\r\n{body}\r\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(command));
        var reply = new StringBuilder();
        var buffer = new byte[256];
        while (reply.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length < 2)
        {
            var n = await stream.ReadAsync(buffer);
            Assert.True(n > 0, "redis closed the connection");
            reply.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }

        Assert.StartsWith("+OK\r\n:", reply.ToString(), StringComparison.Ordinal);
    }

    private Task CreateSecretAsync(string name, string password) =>
        harness.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
            Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes(password) },
        }, "default");

    private Task<object> CreateMappingAsync(string name, string secret) =>
        harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new EventSourceMapping
            {
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
                Spec = new EventSourceMappingSpec
                {
                    FunctionName = "worker",
                    Source = new EventSource { Queue = new QueueSource { Type = "redis", Url = $"redis://127.0.0.1:{redis.Port}", QueueName = "jobs", CredentialsSecretRef = new SecretReference { Name = secret } } },
                },
            },
            "fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural);


    private static V1Condition? Condition(EventSourceMapping? m, string type) => m?.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    private Task WaitAsync(string name, Func<EventSourceMapping, bool> condition, string what, int seconds = 60) =>
        Eventually.True(async () => await GetAsync(name) is { } m && condition(m), $"{name} {what}", seconds);

    private async Task<EventSourceMapping?> GetAsync(string name) =>
        KubernetesJson.Deserialize<EventSourceMapping>((JsonElement)await harness.Client.CustomObjects.GetNamespacedCustomObjectAsync("fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural, name));

    /// <summary>The function behind the Invoke API: records each SQS-style body; answers a function error while <see cref="Fail"/>.</summary>
    private sealed class RecordingInvoker : IFunctionInvoker
    {
        private readonly ConcurrentQueue<string> bodies = new();
        private readonly ConcurrentQueue<string> functions = new();

        public volatile bool Fail;

        public List<string> Bodies => [.. bodies];

        public List<string> Functions => [.. functions.Distinct()];

        public Task<InvokeOutcome> InvokeAsync(string functionName, string? qualifier, ReadOnlyMemory<byte> payload, bool asynchronous, CancellationToken cancellationToken)
        {
            functions.Enqueue(functionName);
            using var doc = JsonDocument.Parse(payload);
            foreach (var r in doc.RootElement.GetProperty("Records").EnumerateArray())
            {
                bodies.Enqueue(r.GetProperty("body").GetString()!);
            }

            return Task.FromResult(Fail
                ? new InvokeOutcome(200, "Unhandled", null, """{"errorMessage":"boom","errorType":"Error"}"""u8.ToArray())
                : new InvokeOutcome(200, null, null, "null"u8.ToArray()));
        }
    }
}
