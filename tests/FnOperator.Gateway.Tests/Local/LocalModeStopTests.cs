using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Local mode's start and stop as a user meets them: a taken port, Ctrl-C once, Ctrl-C twice.</summary>
public sealed class LocalModeStopTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public async Task Listen_address_in_use_prints_one_line_with_how_to_choose_another_and_exits_1()
    {
        dir.NodeFunction("fn", "port-user");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (exitCode, stdout, stderr) = await LocalModeProcess.RunToExitAsync(Wait, "--functions", dir.Root, "--listen", $"127.0.0.1:{port}");

        Assert.Equal(1, exitCode);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stdout + stderr, StringComparison.Ordinal);
        Assert.Equal(
            $"local: cannot listen on 127.0.0.1:{port}: the address is already in use (another local mode or program holds it); " +
            $"choose another with make run LISTEN=127.0.0.1:{port + 1} (or --listen 127.0.0.1:{port + 1})",
            stderr.Trim());
    }

    [Fact]
    public async Task Listen_address_this_machine_does_not_have_is_one_line_and_exit_1()
    {
        dir.NodeFunction("fn", "bad-address");

        var (exitCode, stdout, stderr) = await LocalModeProcess.RunToExitAsync(Wait, "--functions", dir.Root, "--listen", "192.0.2.1:9000");

        Assert.Equal(1, exitCode);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        var line = Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith("local: cannot listen on 192.0.2.1:9000: ", line, StringComparison.Ordinal);
        Assert.EndsWith("; choose another address with make run LISTEN=127.0.0.1:9000 (or --listen)", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(InstanceModes.InProcess)]
    [InlineData(InstanceModes.Process)]
    public async Task First_ctrl_c_says_what_it_waits_for_and_a_second_stops_at_once_counting_discarded_events(string mode)
    {
        // The invocation would run 10 minutes and a graceful stop would wait up to timeout + 5 s = 905 s for it: local mode
        // exiting within the (generous, loaded-machine) Wait after the second Ctrl-C shows it stopped without waiting.
        var name = "stop-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 900\nconcurrency:\n  reserved: 1");
        await using var local = await InstanceModes.StartAsync(mode, dir.Root);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var url = $"{local.Endpoint}/2015-03-31/functions/{name}/invocations";
        var slow = http.PostAsync(url, new StringContent("""{"sleepMs":600000}""", Encoding.UTF8, "application/json"));
        await local.WaitForLineAsync(l => l.StartsWith($"[{name}] START RequestId", StringComparison.Ordinal), Wait);
        for (var i = 0; i < 2; i++)
        {
            using var queued = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent("{}") };
            queued.Headers.Add("X-Amz-Invocation-Type", "Event");
            Assert.Equal(HttpStatusCode.Accepted, (await http.SendAsync(queued)).StatusCode);
        }

        await local.InterruptAsync();
        await local.WaitForLineAsync(l => l == "Stopping: waiting for 1 in-flight invocation, up to 905 s; Ctrl-C again to stop now", Wait);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(local.HasExited, local.Output);
        await local.InterruptAsync();
        var exitCode = await local.WaitForExitAsync(Wait);

        Assert.Equal(130, exitCode);
        Assert.Single(local.Lines(l => l == "Stopping now: killing the function instances."));
        Assert.Single(local.Lines(l => l == $"Discarded 2 queued async events (local mode's queue is in memory): {name} 2"));
        Assert.Empty(await FunctionProcesses.WaitUntilAsync(name, p => p.Count == 0, Wait));
        await Assert.ThrowsAsync<HttpRequestException>(() => slow); // the connection was cut, not answered or timed out
    }
}
