using System.Text;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Local mode killed with SIGKILL (no chance to stop its shims) leaves no runtime-shim or runtime behind.</summary>
public sealed class LocalModeKillTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public async Task Sigkill_of_local_mode_leaves_no_shim_or_runtime_running()
    {
        var name = "orphan-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 30\nscaling:\n  maxReplicas: 2");
        await using var local = await LocalModeProcess.StartAsync(dir.Root);
        await Task.WhenAll(InvokeAsync(local, name, """{"sleepMs":1000}"""), InvokeAsync(local, name, """{"sleepMs":1000}"""));
        var running = FunctionProcesses.Of(name);
        Assert.True(running.Count >= 2, $"expected a shim and its runtime, found {running.Count}\n{local.Output}");

        await local.KillAloneAsync(Wait);

        var left = await FunctionProcesses.WaitUntilAsync(name, p => p.Count == 0, Wait);
        Assert.True(left.Count == 0, $"still running after local mode was killed: {Describe(left)}");
    }

    [Fact]
    public async Task Sigkill_of_local_mode_during_an_invocation_leaves_no_shim_or_runtime_running()
    {
        var name = "orphan-busy-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 900");
        await using var local = await LocalModeProcess.StartAsync(dir.Root);
        using var http = new HttpClient { Timeout = Wait };
        var busy = http.PostAsync($"{local.Endpoint}/2015-03-31/functions/{name}/invocations",
            new StringContent("""{"sleepMs":600000}""", Encoding.UTF8, "application/json"));
        var running = await FunctionProcesses.WaitUntilAsync(name, p => p.Count >= 2, Wait);
        Assert.True(running.Count >= 2, $"expected a shim and its runtime, found {running.Count}\n{local.Output}");
        await local.WaitForLineAsync(l => l.Contains("START RequestId:", StringComparison.Ordinal), Wait);

        await local.KillAloneAsync(Wait);

        // The invocation would run for 600 s: the shims must not wait for it.
        var left = await FunctionProcesses.WaitUntilAsync(name, p => p.Count == 0, Wait);
        Assert.True(left.Count == 0, $"still running after local mode was killed: {Describe(left)}");
        await Assert.ThrowsAnyAsync<Exception>(() => busy);
    }

    private static string Describe(IReadOnlyList<int> pids) =>
        string.Join("; ", pids.Select(pid =>
        {
            try
            {
                return $"{pid}: {File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ')}";
            }
            catch (IOException)
            {
                return $"{pid}: (gone)";
            }
        }));

    private static async Task InvokeAsync(LocalModeProcess local, string function, string payload)
    {
        using var http = new HttpClient { Timeout = Wait };
        var response = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/{function}/invocations", new StringContent(payload, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode && !response.Headers.Contains("X-Amz-Function-Error"), $"{(int)response.StatusCode} {body}\n{local.Output}");
    }
}
