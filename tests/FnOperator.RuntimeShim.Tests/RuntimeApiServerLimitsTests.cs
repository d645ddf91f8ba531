using FnOperator.Contracts;
using static FnOperator.RuntimeShim.Tests.RuntimeApiWireTests;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The raw Runtime API server's own bound (RuntimeApiServerLimits.MaxConnections, docs/runtime-shim.md): past it a
/// connection is answered 503 and closed, and the API keeps serving the connections it has and, once one of them goes,
/// a new one. Kestrel's Runtime API has no such limit of the shim's, so this class has no Kestrel twin.
/// </summary>
public sealed class RuntimeApiServerLimitsTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private string _taskRoot = "";
    private PullServer _server = null!;
    private ShimProcess _shim = null!;

    public async Task InitializeAsync() => (_taskRoot, _server, _shim) = await StartShimOfSleepingRuntimeAsync(ShimOptions.RawRuntimeApiServer);

    public async Task DisposeAsync()
    {
        await _shim.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_taskRoot, recursive: true);
    }

    [Fact]
    public async Task Connection_past_the_limit_gets_503_and_is_closed_and_a_freed_place_serves_again()
    {
        var limit = new RuntimeApiServerLimits().MaxConnections;
        var open = new List<Wire>();
        try
        {
            for (var i = 0; i < limit; i++)
            {
                open.Add(await Wire.ConnectAsync(_shim.RuntimeApi));
            }

            // The accept loop takes connections in order, so every one above is counted before this one.
            await using (var past = await Wire.ConnectAsync(_shim.RuntimeApi))
            {
                var refused = await past.ReadResponseAsync();
                Assert.Equal(503, refused.Status);
                Assert.Equal("close", refused.Header("Connection"));
                Assert.True(await past.ClosedAsync());
            }

            // A connection within the limit is served as before.
            var invocation = _server.Enqueue("""{"n":1}""");
            await open[0].SendAsync(Next);
            Assert.Equal(invocation.RequestId, (await open[0].ReadResponseAsync()).Header("Lambda-Runtime-Aws-Request-Id"));
            await open[0].SendAsync(Post(invocation.RequestId, "1"));
            Assert.Equal(202, (await open[0].ReadResponseAsync()).Status);

            // One goes: its place is free again once the server has seen the close (bounded retries, not a sleep). A try
            // that comes too early is refused (503, or reset under the GET it sent) and is simply made again.
            await open[^1].DisposeAsync();
            open.RemoveAt(open.Count - 1);
            var second = _server.Enqueue("""{"n":2}""");
            Response? served = null;
            var deadline = DateTime.UtcNow + Bound;
            while (served is null && DateTime.UtcNow < deadline)
            {
                var again = await Wire.ConnectAsync(_shim.RuntimeApi);
                try
                {
                    await again.SendAsync(Next);
                    var answer = await again.ReadResponseAsync();
                    if (answer.Status == 200)
                    {
                        served = answer;
                        open.Add(again);
                        break;
                    }
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    // refused before the server saw the close
                }

                await again.DisposeAsync();
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }

            Assert.NotNull(served);
            Assert.Equal(second.RequestId, served.Header("Lambda-Runtime-Aws-Request-Id"));
            await open[^1].SendAsync(Post(second.RequestId, "2"));
            Assert.Equal(202, (await open[^1].ReadResponseAsync()).Status);
        }
        finally
        {
            foreach (var wire in open)
            {
                await wire.DisposeAsync();
            }
        }
    }
}
