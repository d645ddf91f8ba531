using System.Net;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The shim's two listeners (one web host, issue #11): each serves only its own routes, and the health port's /readyz
/// turns 503 on SIGTERM while the in-flight invocation drains and /healthz keeps answering. The test is the runtime.
/// </summary>
public class ShimListenerTests : IAsyncLifetime
{
    /// <summary>The Runtime API server these cases run against (<see cref="ShimListenerTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(120) };
    private string _taskRoot = "";
    private PullServer _server = null!;
    private ShimProcess _shim = null!;

    public async Task InitializeAsync()
    {
        _taskRoot = Directory.CreateTempSubdirectory("fnop-shim-listeners-").FullName;
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

    [Fact]
    public async Task Each_listener_serves_only_its_own_routes()
    {
        Assert.NotEqual(_shim.RuntimeApi, _shim.Http);
        using var healthOnApi = await _http.GetAsync($"http://{_shim.RuntimeApi}/healthz");
        using var metricsOnApi = await _http.GetAsync($"http://{_shim.RuntimeApi}/metrics");
        using var nextOnHealth = await _http.GetAsync($"http://{_shim.Http}{RuntimeApi.Prefix}/invocation/next");
        using var errorOnHealth = await _http.PostAsync($"http://{_shim.Http}{RuntimeApi.Prefix}/init/error", new StringContent("{}"));
        using var health = await _http.GetAsync($"http://{_shim.Http}/healthz");
        using var metrics = await _http.GetAsync($"http://{_shim.Http}/metrics");

        var invocation = _server.Enqueue("""{"n":1}""");
        using var next = await _http.GetAsync($"http://{_shim.RuntimeApi}{RuntimeApi.Prefix}/invocation/next");

        Assert.Equal(HttpStatusCode.NotFound, healthOnApi.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, metricsOnApi.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, nextOnHealth.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, errorOnHealth.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.StartsWith("text/plain; version=0.0.4", metrics.Content.Headers.ContentType!.ToString());
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(invocation.RequestId, next.Headers.GetValues("Lambda-Runtime-Aws-Request-Id").Single());
    }

    [Fact]
    public async Task Readyz_turns_503_on_sigterm_while_the_in_flight_invocation_drains_and_healthz_stays_up()
    {
        var invocation = _server.Enqueue("{}");
        using var next = await _http.GetAsync($"http://{_shim.RuntimeApi}{RuntimeApi.Prefix}/invocation/next");
        Assert.Equal(invocation.RequestId, next.Headers.GetValues("Lambda-Runtime-Aws-Request-Id").Single());
        using (var ready = await _http.GetAsync($"http://{_shim.Http}/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        _shim.Terminate();

        // The invocation is still in flight (this test holds it), so the shim drains and its health port stays up.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        HttpStatusCode readiness;
        do
        {
            using var ready = await _http.GetAsync($"http://{_shim.Http}/readyz");
            readiness = ready.StatusCode;
            if (readiness != HttpStatusCode.ServiceUnavailable)
            {
                await Task.Delay(50);
            }
        }
        while (readiness != HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness);
        using (var health = await _http.GetAsync($"http://{_shim.Http}/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        using var posted = await _http.PostAsync($"http://{_shim.RuntimeApi}{RuntimeApi.Prefix}/invocation/{invocation.RequestId}/response", new StringContent("""{"done":true}"""));
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        Assert.Equal(InvocationOutcome.Success, (await _server.ResultAsync(invocation.RequestId)).Outcome);
        Assert.Equal(0, await _shim.Exited.WaitAsync(TimeSpan.FromSeconds(60)));
    }
}

/// <summary>Every case of <see cref="ShimListenerTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class ShimListenerTestsOnKestrel : ShimListenerTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
