using System.Globalization;
using System.Net;
using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The Runtime API with AWS_LAMBDA_MAX_CONCURRENCY = 3, the test acting as the runtime (a bootstrap that only sleeps): three
/// `GET next` outstanding at once each get their own invocation and headers, answers are routed by request id.
/// </summary>
public class ConcurrentRuntimeApiTests : IAsyncLifetime
{
    /// <summary>The Runtime API server these cases run against (<see cref="ConcurrentRuntimeApiTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(120) };
    private string _taskRoot = "";
    private PullServer _server = null!;
    private ShimProcess _shim = null!;

    public async Task InitializeAsync()
    {
        _taskRoot = Directory.CreateTempSubdirectory("fnop-shim-capi-").FullName;
        FunctionUnderTest.WriteExecutable(Path.Combine(_taskRoot, "bootstrap"), "#!/bin/sh\nexec sleep 3600\n");
        _server = await PullServer.StartAsync();
        _shim = await ShimProcess.StartAsync(new Dictionary<string, string>
        {
            [ShimOptions.RuntimeApiServerVariable] = ApiServer,
            ["AWS_LAMBDA_FUNCTION_NAME"] = "fn",
            ["FNOP_RUNTIME"] = "provided.al2023",
            ["_HANDLER"] = "unused",
            ["LAMBDA_TASK_ROOT"] = _taskRoot,
            ["FNOP_TIMEOUT_SECONDS"] = "120",
            ["FNOP_INIT_TIMEOUT_SECONDS"] = "120",
            ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "512",
            [LambdaVariables.MaxConcurrency] = "3",
            ["FNOP_SOURCE_URL"] = _server.BaseUrl,
        });
    }

    public async Task DisposeAsync()
    {
        await _shim.DisposeAsync();
        await _server.DisposeAsync();
        _http.Dispose();
        Directory.Delete(_taskRoot, recursive: true);
    }

    private string Api(string path) => $"http://{_shim.RuntimeApi}/2018-06-01/runtime/{path}";

    [Fact]
    public async Task Three_outstanding_polls_each_get_their_own_invocation_and_answers_are_routed_by_request_id()
    {
        var polls = Enumerable.Range(0, 3).Select(_ => _http.GetAsync(Api("invocation/next"))).ToList();
        var invocations = Enumerable.Range(0, 3).Select(i => _server.Enqueue($$"""{"n":{{i}}}""")).ToList();
        var nexts = await Task.WhenAll(polls);

        var byId = new Dictionary<string, HttpResponseMessage>();
        foreach (var next in nexts)
        {
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
            var id = Header(next, "Lambda-Runtime-Aws-Request-Id")!;
            byId.Add(id, next);
            var invocation = invocations.Single(i => i.RequestId == id);
            Assert.Equal(System.Text.Encoding.UTF8.GetString(invocation.Payload), await next.Content.ReadAsStringAsync());
            Assert.Equal(invocation.TraceId, Header(next, "Lambda-Runtime-Trace-Id"));
            var deadline = long.Parse(Header(next, "Lambda-Runtime-Deadline-Ms")!, CultureInfo.InvariantCulture);
            Assert.True(deadline > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), "the deadline lies in the future");
        }

        Assert.Equal(3, byId.Count);

        // Answered in the reverse order, each with its own body; the third with an error.
        using var wrong = await _http.PostAsync(Api("invocation/not-a-request/response"), new StringContent("\"wrong\""));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("InvalidRequestID", ErrorType(await wrong.Content.ReadAsStringAsync()));
        using (var e = await _http.PostAsync(Api($"invocation/{invocations[2].RequestId}/error"), new StringContent("""{"errorType":"Boom","errorMessage":"two"}""")))
        {
            Assert.Equal(HttpStatusCode.Accepted, e.StatusCode);
        }

        foreach (var i in new[] { 1, 0 })
        {
            using var posted = await _http.PostAsync(Api($"invocation/{invocations[i].RequestId}/response"), new StringContent($"\"answer-{i}\""));
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        using var second = await _http.PostAsync(Api($"invocation/{invocations[0].RequestId}/response"), new StringContent("\"again\""));
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Equal("InvalidStateTransition", ErrorType(await second.Content.ReadAsStringAsync()));

        var r0 = await _server.ResultAsync(invocations[0].RequestId);
        var r1 = await _server.ResultAsync(invocations[1].RequestId);
        var r2 = await _server.ResultAsync(invocations[2].RequestId);
        Assert.Equal("\"answer-0\"", r0.Text());
        Assert.Equal("\"answer-1\"", r1.Text());
        Assert.Equal(InvocationOutcome.FunctionError, r2.Outcome);
        Assert.Equal("Boom", r2.ErrorType);

        // START/END/REPORT for every one of them, each with its own request id.
        foreach (var invocation in invocations)
        {
            await _shim.WaitForLineAsync(l => l.StartsWith($"REPORT RequestId: {invocation.RequestId}\t", StringComparison.Ordinal));
        }

        foreach (var next in nexts)
        {
            next.Dispose();
        }
    }

    [Fact]
    public async Task A_free_poll_after_answers_gets_the_next_invocation()
    {
        var polls = Enumerable.Range(0, 3).Select(_ => _http.GetAsync(Api("invocation/next"))).ToList();
        var first = Enumerable.Range(0, 3).Select(i => _server.Enqueue($$"""{"n":{{i}}}""")).ToList();
        var nexts = await Task.WhenAll(polls);
        var fourth = _server.Enqueue("""{"n":3}""");
        var poll = _http.GetAsync(Api("invocation/next"));

        foreach (var invocation in first)
        {
            using var posted = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/response"), new StringContent("1"));
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        using var next = await poll;
        Assert.Equal(fourth.RequestId, Header(next, "Lambda-Runtime-Aws-Request-Id"));
        using var done = await _http.PostAsync(Api($"invocation/{fourth.RequestId}/response"), new StringContent("4"));
        Assert.Equal(HttpStatusCode.Accepted, done.StatusCode);
        Assert.Equal("4", (await _server.ResultAsync(fourth.RequestId)).Text());
        foreach (var n in nexts)
        {
            n.Dispose();
        }
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static string? ErrorType(string body) => JsonDocument.Parse(body).RootElement.GetProperty("errorType").GetString();
}

/// <summary>Every case of <see cref="ConcurrentRuntimeApiTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class ConcurrentRuntimeApiTestsOnKestrel : ConcurrentRuntimeApiTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
