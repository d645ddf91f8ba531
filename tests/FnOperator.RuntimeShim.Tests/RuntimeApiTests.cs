using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The Runtime API on the wire, with the test itself acting as the runtime: the shim's runtime is a `provided` bootstrap
/// that only sleeps, and the test calls next/response/error/init-error over HTTP.
/// </summary>
public class RuntimeApiTests : IAsyncLifetime
{
    /// <summary>The Runtime API server these cases run against (<see cref="RuntimeApiTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(120) };
    private string _taskRoot = "";
    private PullServer _server = null!;
    private ShimProcess _shim = null!;

    public async Task InitializeAsync()
    {
        _taskRoot = Directory.CreateTempSubdirectory("fnop-shim-api-").FullName;
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
    public async Task Next_delivers_the_event_with_every_lambda_header()
    {
        var invocation = _server.Enqueue("""{"hello":"world"}""");

        using var next = await _http.GetAsync(Api("invocation/next"));

        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal("""{"hello":"world"}""", await next.Content.ReadAsStringAsync());
        Assert.Equal(invocation.RequestId, Header(next, "Lambda-Runtime-Aws-Request-Id"));
        Assert.Equal(invocation.InvokedFunctionArn, Header(next, "Lambda-Runtime-Invoked-Function-Arn"));
        Assert.Equal(invocation.TraceId, Header(next, "Lambda-Runtime-Trace-Id"));
        Assert.Equal(invocation.ClientContext, Header(next, "Lambda-Runtime-Client-Context"));
        var deadline = long.Parse(Header(next, "Lambda-Runtime-Deadline-Ms")!, CultureInfo.InvariantCulture);
        Assert.True(deadline > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), "the deadline lies in the future");
        Assert.True(deadline <= DateTimeOffset.UtcNow.AddSeconds(121).ToUnixTimeMilliseconds(), "the deadline is at most the timeout away");
        using var done = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/response"), new StringContent("1"));
        Assert.Equal(HttpStatusCode.Accepted, done.StatusCode);
    }

    [Fact]
    public async Task Wrong_request_id_gets_400_and_a_second_response_gets_403_while_the_first_response_wins()
    {
        var invocation = _server.Enqueue("{}");
        using var next = await _http.GetAsync(Api("invocation/next"));
        Assert.Equal(invocation.RequestId, Header(next, "Lambda-Runtime-Aws-Request-Id"));

        using var wrong = await _http.PostAsync(Api("invocation/not-a-request/response"), new StringContent("\"wrong\""));
        using var first = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/response"), new StringContent("\"first\""));
        using var second = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/response"), new StringContent("\"second\""));
        using var late = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/error"), new StringContent("{}"));

        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("InvalidRequestID", ErrorType(await wrong.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Equal("InvalidStateTransition", ErrorType(await second.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.Forbidden, late.StatusCode);
        var result = await _server.ResultAsync(invocation.RequestId);
        Assert.Equal(InvocationOutcome.Success, result.Outcome);
        Assert.Equal("\"first\"", result.Text());
    }

    [Fact]
    public async Task Error_post_is_an_unhandled_function_error_that_keeps_the_runtime_error_document()
    {
        var invocation = _server.Enqueue("{}");
        using var next = await _http.GetAsync(Api("invocation/next"));

        using var posted = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/error"),
            new StringContent("""{"errorMessage":"no such order","errorType":"OrderNotFound","stackTrace":[]}"""));

        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var result = await _server.ResultAsync(invocation.RequestId);
        Assert.Equal(InvocationOutcome.FunctionError, result.Outcome);
        Assert.Equal("Unhandled", result.FunctionError);
        Assert.Equal("OrderNotFound", result.ErrorType);
        Assert.Equal("no such order", result.Json().GetProperty("errorMessage").GetString());
    }

    [Fact]
    public async Task Shim_writes_start_end_and_report_lines_for_each_invocation()
    {
        var invocation = _server.Enqueue("{}");
        using var next = await _http.GetAsync(Api("invocation/next"));
        using var posted = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/response"), new StringContent("{}"));
        var result = await _server.ResultAsync(invocation.RequestId);

        var id = invocation.RequestId;
        await _shim.WaitForLineAsync(l => l == $"START RequestId: {id} Version: $LATEST");
        await _shim.WaitForLineAsync(l => l == $"END RequestId: {id}");
        var report = await _shim.WaitForLineAsync(l => l.StartsWith($"REPORT RequestId: {id}\t", StringComparison.Ordinal));
        Assert.Matches(@"^REPORT RequestId: \S+\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 512 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t$", report);
        Assert.Equal(512, result.MemorySizeMb);
        Assert.True(result.MaxMemoryUsedMb >= 1, "memory of the runtime process tree is measured");
        Assert.Equal((long)Math.Ceiling(result.DurationMs), result.BilledDurationMs);
    }

    [Fact]
    public async Task Init_error_fails_the_invocation_with_its_error_type_and_is_refused_after_init()
    {
        using var init = await _http.PostAsync(Api("init/error"), Json("""{"errorMessage":"bad config","errorType":"Runtime.ConfigInvalid"}""", "Runtime.ConfigInvalid"));
        Assert.Equal(HttpStatusCode.Accepted, init.StatusCode);

        var result = await _server.InvokeAsync("{}");

        Assert.Equal(InvocationOutcome.FunctionError, result.Outcome);
        Assert.Equal("Unhandled", result.FunctionError);
        Assert.Equal("Runtime.ConfigInvalid", result.ErrorType);
        Assert.Equal("bad config", result.Json().GetProperty("errorMessage").GetString());
    }

    [Fact]
    public async Task Init_error_after_the_runtime_asked_for_work_is_refused_with_403()
    {
        var invocation = _server.Enqueue("{}");
        using var next = await _http.GetAsync(Api("invocation/next"));

        using var init = await _http.PostAsync(Api("init/error"), Json("""{"errorMessage":"late","errorType":"Runtime.Late"}""", "Runtime.Late"));

        Assert.Equal(HttpStatusCode.Forbidden, init.StatusCode);
        using var done = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/response"), new StringContent("2"));
        Assert.Equal(InvocationOutcome.Success, (await _server.ResultAsync(invocation.RequestId)).Outcome);
    }

    [Fact]
    public async Task Health_readiness_and_metrics_endpoints_report_the_shim_state()
    {
        var invocation = _server.Enqueue("{}");
        using var next = await _http.GetAsync(Api("invocation/next"));
        using var readyWhileRunning = await _http.GetAsync($"http://{_shim.Http}/readyz");
        using var posted = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/response"), new StringContent("{}"));
        await _server.ResultAsync(invocation.RequestId);

        using var health = await _http.GetAsync($"http://{_shim.Http}/healthz");
        var metrics = await _http.GetStringAsync($"http://{_shim.Http}/metrics");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, readyWhileRunning.StatusCode);
        Assert.Contains("fnop_shim_invocations_total{outcome=\"Success\"} 1", metrics);
        Assert.Contains("fnop_shim_cold_starts_total 1", metrics);
        Assert.Contains("fnop_shim_invocation_duration_seconds_count 1", metrics);
        Assert.Contains("fnop_shim_init_duration_seconds_count 1", metrics);
        Assert.Contains("fnop_shim_timeouts_total 0", metrics);
        Assert.Contains("fnop_shim_errors_total", metrics);
    }

    [Fact]
    public async Task Oversized_response_gets_413_and_the_invocation_fails_with_response_size_too_large()
    {
        var invocation = _server.Enqueue("{}");
        using var next = await _http.GetAsync(Api("invocation/next"));

        using var posted = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/response"),
            new ByteArrayContent(Encoding.ASCII.GetBytes(new string('x', (6 * 1024 * 1024) + 1))));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, posted.StatusCode);
        var result = await _server.ResultAsync(invocation.RequestId);
        Assert.Equal(InvocationOutcome.FunctionError, result.Outcome);
        Assert.Equal("Function.ResponseSizeTooLarge", result.ErrorType);
    }

    [Fact]
    public async Task Response_of_exactly_6_MB_succeeds()
    {
        var invocation = _server.Enqueue("{}");
        using var next = await _http.GetAsync(Api("invocation/next"));
        var body = new string('y', 6 * 1024 * 1024);

        using var posted = await _http.PostAsync(Api($"invocation/{invocation.RequestId}/response"), new StringContent(body));

        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var result = await _server.ResultAsync(invocation.RequestId);
        Assert.Equal(InvocationOutcome.Success, result.Outcome);
        Assert.Equal(6 * 1024 * 1024, result.Payload.Length);
    }

    private static StringContent Json(string body, string errorType)
    {
        var content = new StringContent(body, Encoding.UTF8, "application/json");
        content.Headers.Add("Lambda-Runtime-Function-Error-Type", errorType);
        return content;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    private static string? ErrorType(string body) => JsonDocument.Parse(body).RootElement.GetProperty("errorType").GetString();
}

/// <summary>Every case of <see cref="RuntimeApiTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class RuntimeApiTestsOnKestrel : RuntimeApiTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
