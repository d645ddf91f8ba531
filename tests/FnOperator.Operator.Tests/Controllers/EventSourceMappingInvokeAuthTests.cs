using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.EventSources.Tests;
using FnOperator.Gateway;
using FnOperator.Gateway.Auth;
using FnOperator.Gateway.Functions;
using FnOperator.Operator.Controllers;
using FnOperator.Operator.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Tests.Controllers;

/// <summary>
/// The operator's pollers against a real gateway in invokeAuth required mode (TokenReview + SubjectAccessReview on the
/// API test server) and a real nats-server: with the chart's grant (fnoperator-invoker bound to the operator's
/// ServiceAccount) the poller's invokes carry the operator's token and succeed; without it the mapping reports
/// FunctionReady=False InvokeDenied (condition and Warning Event) and the held batch is delivered once the grant exists.
/// </summary>
public sealed class EventSourceMappingInvokeAuthTests : IAsyncLifetime
{
    private const string OperatorUser = "system:serviceaccount:fn-system:fn-operator";
    private static readonly byte[] ClusterKey = "esm-auth-cluster-key-0123456789abcdefghijklmnop"u8.ToArray();
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentQueue<Invocation> received = new();
    private OperatorHarness harness = null!;
    private WebApplication gateway = null!;
    private ServerProcess nats = null!;
    private string tokenFile = null!;
    private Task worker = Task.CompletedTask;

    public async Task InitializeAsync()
    {
        nats = await ServerProcess.NatsAsync();

        var gatewayPort = ServerProcess.FreePort();
        tokenFile = Path.Combine(nats.Dir, "operator-token");
        harness = await OperatorHarness.StartAsync(operators: 0, settings:
        [
            "--Operator:GatewayUrl", $"http://127.0.0.1:{gatewayPort}",
            "--Operator:InvokeTokenFile", tokenFile,
            "--Operator:DependencyRetry", "00:00:02",
        ]);
        await File.WriteAllTextAsync(tokenFile, harness.Server.IssueToken(OperatorUser) + "\n");

        var client = harness.Server.CreateClient();
        gateway = GatewayApp.Build(new GatewayOptions
        {
            Listen = [$"127.0.0.1:{gatewayPort}"],
            ClusterKey = ClusterKey,
            RetryBaseDelay = TimeSpan.FromMilliseconds(100),
            MaxStartWait = TimeSpan.FromSeconds(30),
            Auth = new AuthOptions { Mode = AuthMode.Required, AccessKeyNamespace = "fn-system", DecisionCacheTtl = TimeSpan.FromSeconds(1), TokenCacheTtl = TimeSpan.FromSeconds(1) },
        }, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton(client);
        });
        await gateway.StartAsync();
        gateway.Services.GetRequiredService<FunctionRegistry>().Upsert(new FunctionKey("default", "worker"), new FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 30 });
        worker = Task.Run(() => WorkerAsync(new Uri($"http://127.0.0.1:{gatewayPort}"), stop.Token));

        await harness.CreateAsync(TestFunctions.Node("worker"));
        await harness.StartReplicaAsync("operator-0");
    }

    public async Task DisposeAsync()
    {
        await stop.CancelAsync();
        await worker;
        await harness.DisposeAsync();
        await gateway.StopAsync();
        await gateway.DisposeAsync();
        await nats.DisposeAsync();
    }

    [Fact]
    public async Task Poller_invokes_with_the_operator_token_when_the_chart_grant_binds_the_invoker_role()
    {
        await GrantInvokerAsync();
        await CreateMappingAsync("granted");
        await WaitAsync("granted", m => m.Status?.State == EventSourceMappingStates.Enabled, "Enabled");

        await PublishAsync("a", "b", "c");
        await Eventually.True(() => Bodies().Order().SequenceEqual(["a", "b", "c"]), "the three messages delivered to the function", 90);
        await WaitAsync("granted", m => m.Status?.LastProcessingResult == "OK" && Condition(m, ConditionTypes.Ready)?.Status == ConditionStatus.True, "lastProcessingResult OK and Ready");
        Assert.All(received, i => Assert.Equal(InvocationType.RequestResponse, i.Type));
        Assert.True(harness.Server.Reviews.TokenReviews > 0, "the gateway verified the operator's token with a TokenReview");
    }

    [Fact]
    public async Task Without_the_grant_the_mapping_reports_InvokeDenied_and_the_held_batch_is_delivered_once_granted()
    {
        await CreateMappingAsync("denied");
        await WaitAsync("denied", m => m.Status?.State == EventSourceMappingStates.Enabled, "Enabled");
        await PublishAsync("held");

        await WaitAsync("denied", m => Condition(m, EventSourceMappingConditions.FunctionReady) is { Status: ConditionStatus.False, Reason: EventSourceMappingReasons.InvokeDenied }, "FunctionReady=False InvokeDenied", 90);
        var condition = Condition(await GetAsync("denied"), EventSourceMappingConditions.FunctionReady)!;
        Assert.Contains("AccessDeniedException", condition.Message, StringComparison.Ordinal);
        Assert.Contains(OperatorUser, condition.Message, StringComparison.Ordinal);
        Assert.Equal(ConditionStatus.False, Condition(await GetAsync("denied"), ConditionTypes.Ready)!.Status);
        Assert.StartsWith("PROBLEM: invoke denied (403", (await GetAsync("denied"))!.Status!.LastProcessingResult, StringComparison.Ordinal);
        await harness.WaitEventAsync("denied", "Warning", EventSourceMappingReasons.InvokeDenied);
        Assert.Empty(received);

        await GrantInvokerAsync();
        await Eventually.True(() => Bodies().SequenceEqual(["held"]), "the held message delivered after the grant", 120);
        await WaitAsync("denied", m => Condition(m, EventSourceMappingConditions.FunctionReady) is { Status: ConditionStatus.True } && m.Status?.LastProcessingResult == "OK", "FunctionReady again", 90);
    }

    /// <summary>What the chart renders with invokeAuth.mode=required: ClusterRole fnoperator-invoker bound to the operator's ServiceAccount.</summary>
    private async Task GrantInvokerAsync()
    {
        await harness.Client.RbacAuthorizationV1.CreateClusterRoleAsync(new V1ClusterRole
        {
            Metadata = new V1ObjectMeta { Name = "fnoperator-invoker" },
            Rules = [new V1PolicyRule { ApiGroups = ["fnoperator.io"], Resources = ["functions"], Verbs = ["invoke"] }],
        });
        await harness.Client.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "fn-operator-invoker" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "fnoperator-invoker" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "fn-operator", NamespaceProperty = "fn-system" }],
        });
    }

    private List<string> Bodies() =>
        [.. received.SelectMany(i => JsonDocument.Parse(i.Payload).RootElement.GetProperty("Records").EnumerateArray().Select(r => r.GetProperty("body").GetString()!))];

    private async Task PublishAsync(params string[] bodies)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = nats.NatsUrl });
        var js = new NatsJSContext(connection);
        foreach (var body in bodies)
        {
            (await js.PublishAsync("jobs", Encoding.UTF8.GetBytes(body))).EnsureSuccess();
        }
    }

    /// <summary>Stands in for the function's runtime-shim: pulls over the pull protocol and answers null (success).</summary>
    private async Task WorkerAsync(Uri baseAddress, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Add(PullProtocol.CredentialHeader, PullProtocol.Credential(ClusterKey, "default", "worker", FunctionRegistry.Latest));
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var response = await http.GetAsync(PullProtocol.NextPath("default", "worker", FunctionRegistry.Latest) + "?waitMs=1000", ct);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    await Task.Delay(response.StatusCode == HttpStatusCode.NoContent ? 0 : 100, ct);
                    continue;
                }

                var invocation = (await response.Content.ReadFromJsonAsync<Invocation>(Json, ct))!;
                received.Enqueue(invocation);
                var result = new InvocationResult { RequestId = invocation.RequestId, Outcome = InvocationOutcome.Success, Payload = "null"u8.ToArray(), ExecutedVersion = invocation.Version };
                using var post = new HttpRequestMessage(HttpMethod.Post, PullProtocol.ResultPath(invocation.RequestId)) { Content = JsonContent.Create(result, options: Json) };
                post.Headers.Add(PullProtocol.LeaseTokenHeader, invocation.LeaseToken);
                using var posted = await http.SendAsync(post, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100, CancellationToken.None);
            }
        }
    }


    private static V1Condition? Condition(EventSourceMapping? m, string type) => m?.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    private Task WaitAsync(string name, Func<EventSourceMapping, bool> condition, string what, int seconds = 90) =>
        Eventually.True(async () => await GetAsync(name) is { } m && condition(m), $"{name} {what}", seconds);

    private Task<object> CreateMappingAsync(string name) =>
        harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new EventSourceMapping
            {
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
                Spec = new EventSourceMappingSpec { FunctionName = "worker", BatchSize = 10, Source = new EventSource { Queue = new QueueSource { Type = "nats", Url = nats.NatsUrl, Subject = "jobs" } } },
            },
            "fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural);

    private async Task<EventSourceMapping?> GetAsync(string name) =>
        KubernetesJson.Deserialize<EventSourceMapping>((JsonElement)await harness.Client.CustomObjects.GetNamespacedCustomObjectAsync("fnoperator.io", "v1alpha1", "default", EventSourceMapping.Plural, name));
}
