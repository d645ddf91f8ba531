using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// Local mode with real runtimes (node, through real shims) under a burst: 200 concurrent sync invokes to a function
/// at zero with one invocation per instance scale it up to maxReplicas (4, no further), every invocation succeeds,
/// and the function is back at zero after the idle window; the cold starts are reported in local mode's output.
/// </summary>
public sealed class LocalModeBurstScaleTests : IDisposable
{
    private const int Invocations = 200;
    private const int MaxReplicas = 4;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(180);
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Theory]
    [InlineData(InstanceModes.InProcess)]
    [InlineData(InstanceModes.Process)]
    public async Task A_burst_of_200_sync_invokes_at_zero_scales_to_max_replicas_and_back_to_zero_without_a_failure(string mode)
    {
        var name = "burst200-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, $"timeoutSeconds: 60\nconcurrency:\n  perInstance: 1\nscaling:\n  maxReplicas: {MaxReplicas}");
        await using var local = await InstanceModes.StartAsync(mode, dir.Root, null, "--idle-seconds", "3");
        Assert.Empty(FunctionProcesses.Of(name));

        var most = 0;
        using var watching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                most = Math.Max(most, FunctionProcesses.Of(name).Count(IsShim));
                await Task.Delay(100);
            }
        });

        using var http = new HttpClient { Timeout = Wait };
        var responses = await Task.WhenAll(Enumerable.Range(0, Invocations).Select(async i =>
        {
            using var response = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/{name}/invocations", new StringContent($$"""{"i":{{i}},"sleepMs":50}""", Encoding.UTF8, "application/json"));
            return (i, response.StatusCode, Error: response.Headers.Contains("X-Amz-Function-Error"), Body: await response.Content.ReadAsStringAsync());
        }));

        var failed = responses.Where(r => r.StatusCode != HttpStatusCode.OK || r.Error).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} failed, e.g. {failed.FirstOrDefault()}\n{local.Output}");
        Assert.All(responses, r => Assert.Equal(r.i, (int)JsonNode.Parse(r.Body)!["echo"]!["i"]!));
        var started = InstanceModes.ReadyLines(local, name, mode).Count;
        Assert.True(started == MaxReplicas, $"{started} instances started, expected {MaxReplicas}\n{local.Output}");

        var afterIdle = await FunctionProcesses.WaitUntilAsync(name, p => p.Count == 0, Wait);
        await watching.CancelAsync();
        await watcher;
        Assert.True(afterIdle.Count == 0, $"processes still running after the idle window: {string.Join(",", afterIdle)}\n{local.Output}");
        Assert.True(most <= MaxReplicas, $"{most} shims at once");
        Assert.NotEmpty(local.Lines(l => l.Contains($"Cold start function={name} ", StringComparison.Ordinal)));
    }

    // A shim process, or in-process an instance's keeper (one per instance; the JIT DLL's `keeper` verb in tests).
    private static bool IsShim(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains("FnOperator.RuntimeShim.dll", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
