using System.Collections;
using static FnOperator.RuntimeShim.Tests.RuntimeApiWireTests;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The raw Runtime API server's timeouts (RuntimeApiServerLimits, docs/runtime-shim.md): a keep-alive connection left
/// idle, a request head that does not complete and a body that stalls are each closed by the server without an answer,
/// and the API keeps serving. Each case runs an in-process shim (ShimHost, the test as its runtime) with that one
/// limit short (ShimOptions.RuntimeApiLimits; the others stay at their defaults, far past the cases' bounds), so a
/// close can only come from the limit under test. Kestrel's Runtime API has its own limits, so no Kestrel twin.
/// </summary>
public sealed class RuntimeApiServerTimeoutTests : IAsyncLifetime
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(1);
    private string _taskRoot = "";
    private PullServer _server = null!;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();
    private ShimHost? _host;

    public async Task InitializeAsync()
    {
        _taskRoot = Directory.CreateTempSubdirectory("fnop-shim-timeouts-").FullName;
        FunctionUnderTest.WriteExecutable(Path.Combine(_taskRoot, "bootstrap"), "#!/bin/sh\nexec sleep 3600\n");
        _server = await PullServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync(TimeSpan.FromSeconds(5));
            await _host.DisposeAsync();
        }

        await _server.DisposeAsync();
        Directory.Delete(_taskRoot, recursive: true);
    }

    [Fact]
    public async Task Keep_alive_connection_idle_past_the_keep_alive_timeout_is_closed_and_the_api_keeps_serving()
    {
        var api = await StartShimAsync(new RuntimeApiServerLimits { KeepAliveTimeout = Short });
        var invocation = _server.Enqueue("{}");
        await using (var wire = await Wire.ConnectAsync(api))
        {
            // One exchange in one write (no pause of the client's between them), then the connection is left idle.
            await wire.SendAsync(Next + Post(invocation.RequestId, "1"));
            Assert.Equal(invocation.RequestId, (await wire.ReadResponseAsync()).Header("Lambda-Runtime-Aws-Request-Id"));
            Assert.Equal(202, (await wire.ReadResponseAsync()).Status);

            Assert.Equal("", await wire.ReadUntilClosedAsync());
        }

        await AssertServesAsync(_server, api, Logged);
    }

    [Fact]
    public async Task Request_head_unfinished_within_the_headers_timeout_is_closed_unanswered_and_the_api_keeps_serving()
    {
        var api = await StartShimAsync(new RuntimeApiServerLimits { HeadersTimeout = Short });
        await using (var wire = await Wire.ConnectAsync(api))
        {
            // The request line and one field; the blank line that ends the head never comes.
            await wire.SendAsync("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rt\r\n");

            Assert.Equal("", await wire.ReadUntilClosedAsync());
        }

        await AssertServesAsync(_server, api, Logged);
    }

    [Fact]
    public async Task Request_head_trickled_a_byte_at_a_time_is_closed_once_the_headers_timeout_has_passed_since_its_first_byte()
    {
        var api = await StartShimAsync(new RuntimeApiServerLimits { HeadersTimeout = Short });
        await using (var wire = await Wire.ConnectAsync(api))
        {
            // A byte every 250 ms for up to 10 s (10 headers timeouts): each byte comes well within the timeout of the one
            // before, so only a deadline kept from the head's first byte closes the connection while the trickle goes on.
            await wire.SendAsync("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n");
            var closed = wire.ReadUntilClosedAsync();
            var trickle = "X-Slow: " + new string('a', 32);
            var sent = 0;
            while (sent < trickle.Length && !closed.IsCompleted)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250));
                try
                {
                    await wire.SendAsync(trickle[sent++].ToString());
                }
                catch (System.Net.Sockets.SocketException)
                {
                    break; // the server has closed it
                }
            }

            Assert.True(sent < trickle.Length, "the connection stayed open for the whole trickle");
            Assert.Equal("", await closed);
        }

        await AssertServesAsync(_server, api, Logged);
    }

    [Fact]
    public async Task Body_stalled_past_the_body_timeout_is_closed_unanswered_and_a_complete_post_completes_the_invocation()
    {
        var api = await StartShimAsync(new RuntimeApiServerLimits { BodyTimeout = Short });
        var invocation = _server.Enqueue("{}");
        await using (var wire = await Wire.ConnectAsync(api))
        {
            await wire.SendAsync(Next);
            await wire.ReadResponseAsync();
            await wire.SendAsync($"POST /2018-06-01/runtime/invocation/{invocation.RequestId}/response HTTP/1.1\r\nHost: rt\r\nContent-Length: 100\r\n\r\n\"partial");

            Assert.Equal("", await wire.ReadUntilClosedAsync());
        }

        await using var again = await Wire.ConnectAsync(api);
        await again.SendAsync(Post(invocation.RequestId, "\"whole\""));
        Assert.Equal(202, (await again.ReadResponseAsync()).Status);
        Assert.Equal("\"whole\"", (await _server.ResultAsync(invocation.RequestId)).Text());
    }

    private string Logged() => string.Join("\n", _log);

    /// <summary>Keeps a line of the shim's log or output for a failure's message, at most 200.</summary>
    private void Keep(string line)
    {
        if (_log.Count < 200)
        {
            _log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
        }
    }

    /// <summary>The runtime's output (and START/END lines) into the same bounded log, one entry a line.</summary>
    private sealed class LogWriter(Action<string> keep) : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => Write(value.ToString());

        public override void Write(string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                keep("output: " + value.TrimEnd('\n'));
            }
        }

        public override void WriteLine(string? value) => Write(value);
    }

    /// <summary>An in-process shim on the raw server with <paramref name="limits"/>, whose runtime only sleeps; its Runtime API address.</summary>
    private async Task<string> StartShimAsync(RuntimeApiServerLimits limits)
    {
        var environment = new Hashtable(Environment.GetEnvironmentVariables());
        foreach (var (key, value) in SleepingRuntimeEnvironment(ShimOptions.RawRuntimeApiServer, _taskRoot, _server.BaseUrl))
        {
            environment[key] = value;
        }

        environment["FNOP_RUNTIME_API_ADDRESS"] = "127.0.0.1:0";
        environment["FNOP_HTTP_ADDRESS"] = "127.0.0.1:0";

        // Lambda's largest memory size, so the memory watchdog stays out of these cases. At 128 MB, in a loaded run of the
        // whole suite, it killed the sleeping runtime ("Killed runtime over its memory size" within a second of its start):
        // an in-process sampler counted this test process's main-thread children, other tests' shim processes whose
        // launching threads had ended (fixed: MemorySampler.InProcess, docs/testing.md). The replacement runtime then
        // waited for a `GET next` the test had already sent, and the case's poll went unanswered, as twice in CI.
        var options = ShimOptions.FromEnvironment(environment) with { RuntimeApiLimits = limits, MemorySizeMb = 10240 };

        // Information and up, kept (bounded) with the runtime's output for a failure's message.
        _host = ShimHost.Create(options, minimumLevel: Microsoft.Extensions.Logging.LogLevel.Information, hosting: new ShimHosting
        {
            Environment = environment,
            Output = new LogWriter(Keep),
            Log = Keep,
        });
        await _host.StartAsync(CancellationToken.None);
        return _host.RuntimeApiAddress;
    }
}
