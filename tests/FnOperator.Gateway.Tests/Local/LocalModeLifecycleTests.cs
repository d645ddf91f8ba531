using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Local mode's process pool: scale to zero and back, crash replacement, clean stop, bad manifests.</summary>
public sealed class LocalModeLifecycleTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Theory]
    [InlineData(InstanceModes.InProcess)]
    [InlineData(InstanceModes.Process)]
    public async Task Idle_function_scales_to_zero_and_the_next_invoke_starts_it_again(string mode)
    {
        var name = "idle-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 10");
        await using var local = await InstanceModes.StartAsync(mode, dir.Root, null, "--idle-seconds", "2");
        Assert.Empty(FunctionProcesses.Of(name));

        // The instance each invoke started is read from local mode's "ready" lines, not from a process scan right after
        // the answer: a loaded machine can stall past the 2 s idle window there, and the instance is rightly gone.
        var first = await InvokeAsync(local, name, """{"n":1}""");
        Assert.Equal(1, await ReadyLinesAsync(local, name, mode, 1));

        var afterIdle = await FunctionProcesses.WaitUntilAsync(name, p => p.Count == 0, Wait);
        Assert.True(afterIdle.Count == 0, $"processes still running after the idle window: {string.Join(",", afterIdle)}\n{local.Output}");

        var second = await InvokeAsync(local, name, """{"n":2}""");
        Assert.Equal(1, (int)first["echo"]!["n"]!);
        Assert.Equal(2, (int)second["echo"]!["n"]!);
        Assert.Equal(2, await ReadyLinesAsync(local, name, mode, 2));
    }

    [Theory]
    [InlineData(InstanceModes.InProcess)]
    [InlineData(InstanceModes.Process)]
    public async Task Concurrent_work_scales_the_pool_up_to_max_replicas_and_no_further(string mode)
    {
        var name = "burst-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 30\nscaling:\n  maxReplicas: 2");
        await using var local = await InstanceModes.StartAsync(mode, dir.Root);

        var results = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => InvokeAsync(local, name, $$"""{"i":{{i}},"sleepMs":1500}""")));

        Assert.Equal([0, 1, 2, 3, 4], results.Select(r => (int)r["echo"]!["i"]!).Order());
        Assert.Equal(2, await ReadyLinesAsync(local, name, mode, 2));
        Assert.Equal(2, FunctionProcesses.Of(name).Count(pid => IsShim(pid)));
    }

    [Theory]
    [InlineData(InstanceModes.InProcess)]
    [InlineData(InstanceModes.Process)]
    public async Task Provisioned_concurrency_keeps_instances_warm_before_and_after_work(string mode)
    {
        var name = "warm-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 2\nconcurrency:\n  provisioned: 1");
        await using var local = await InstanceModes.StartAsync(mode, dir.Root, null, "--idle-seconds", "1");

        var warm = await FunctionProcesses.WaitUntilAsync(name, p => p.Any(IsShim), Wait);
        Assert.Contains(warm, IsShim);
        await InvokeAsync(local, name, "{}");
        await Task.Delay(TimeSpan.FromSeconds(4));

        Assert.Equal(1, FunctionProcesses.Of(name).Count(IsShim));
        Assert.Single(InstanceModes.ReadyLines(local, name, mode));
    }

    [Fact]
    public async Task Crashed_shim_is_replaced_and_the_function_keeps_serving()
    {
        // A shim process's own crash: process mode only (in-process, the shim is local mode itself; a runtime's crash
        // is LocalModeInstanceModesTests').
        var name = "crash-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name);
        await using var local = await InstanceModes.StartAsync(InstanceModes.Process, dir.Root);
        await InvokeAsync(local, name, "{}");
        var shimLine = await local.WaitForLineAsync(l => l.StartsWith($"[{name}] instance pid ", StringComparison.Ordinal), Wait);
        var shimPid = int.Parse(shimLine.Split(' ')[3], System.Globalization.CultureInfo.InvariantCulture);

        Process.GetProcessById(shimPid).Kill(); // SIGKILL to the shim alone, as a crash would be
        await local.WaitForLineAsync(l => l.Contains($"instance pid {shimPid} exited unexpectedly", StringComparison.Ordinal), Wait);
        var after = await InvokeAsync(local, name, """{"again":true}""");

        Assert.True((bool)after["echo"]!["again"]!);
        Assert.DoesNotContain(shimPid, FunctionProcesses.Of(name));
    }

    [Fact]
    public async Task Sigterm_stops_local_mode_and_every_function_process()
    {
        var name = "stop-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 2");
        var local = await LocalModeProcess.StartAsync(dir.Root);
        await using (local)
        {
            await InvokeAsync(local, name, "{}");
            Assert.NotEmpty(FunctionProcesses.Of(name));

            var exitCode = await local.StopAsync(Wait);

            Assert.Contains("Stopped.", local.Output, StringComparison.Ordinal);
            Assert.Empty(await FunctionProcesses.WaitUntilAsync(name, p => p.Count == 0, Wait));
            Assert.True(exitCode == 0, $"exit code {exitCode}\n{local.Output}");
        }
    }

    [Fact]
    public async Task Bad_manifests_are_reported_by_file_and_field_while_good_functions_serve()
    {
        dir.NodeFunction("bad", "broken", "timeoutSeconds: 0");
        dir.Write("typo/fn.yaml", "apiVersion: fnoperator.io/v1alpha1\nkind: Function\nmetadata: {name: typo}\nspec: {runtime: nodejs22.x, handler: index.handler, code: {path: src}, memory: 256}\n");
        dir.Write("notyaml/fn.yaml", "apiVersion: fnoperator.io/v1alpha1\nkind: Function\n  metadata: [\n");
        dir.NodeFunction("good", "good-one");

        await using var local = await LocalModeProcess.StartAsync(dir.Root);

        var output = local.Output;
        Assert.Contains($"{Path.Combine(dir.Root, "bad", "function.yaml")}: spec.timeoutSeconds: must be between 1 and 900 (got 0)", output, StringComparison.Ordinal);
        Assert.Contains($"{Path.Combine(dir.Root, "typo", "fn.yaml")}: spec.memory: unknown field 'memory'", output, StringComparison.Ordinal);
        Assert.Contains($"{Path.Combine(dir.Root, "notyaml", "fn.yaml")}: invalid YAML at line", output, StringComparison.Ordinal);
        var result = await InvokeAsync(local, "good-one", """{"ok":1}""");
        Assert.Equal(1, (int)result["echo"]!["ok"]!);
        using var http = new HttpClient();
        var missing = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/broken/invocations", new StringContent("{}"));
        Assert.Equal(404, (int)missing.StatusCode);
    }

    [Fact]
    public async Task No_servable_function_exits_with_an_error_after_listing_the_problems()
    {
        dir.NodeFunction("bad", "broken", "memoryMiB: 1");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { RepoPaths.GatewayDll, "local", "--functions", dir.Root, "--listen", "127.0.0.1:0" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["FNOP_SHIM_DLL"] = RepoPaths.ShimDll;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Wait);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        Assert.Contains("spec.memoryMiB: must be between 128 and 10240 (got 1)", await stdout, StringComparison.Ordinal);
        Assert.Contains("no servable Function", await stderr, StringComparison.Ordinal);
    }

    // A shim process, or in-process an instance's keeper (the shim binary's `keeper` verb, one per instance).
    private static bool IsShim(int pid) => FunctionProcesses.IsShim(pid);

    // Local mode prints "instance pid … ready" when it reads the shim's listening line from a pipe; the shim may already
    // be serving through the gateway by then, so an answer can arrive first: wait for the count, then compare. Only
    // <paramref name="mode"/>'s instances count.
    private static Task<int> ReadyLinesAsync(LocalModeProcess local, string name, string mode, int expected) =>
        InstanceModes.WaitForReadyAsync(local, name, mode, expected, Wait);

    private static async Task<JsonNode> InvokeAsync(LocalModeProcess local, string function, string payload)
    {
        using var http = new HttpClient { Timeout = Wait };
        var response = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/{function}/invocations", new StringContent(payload, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode && !response.Headers.Contains("X-Amz-Function-Error"), $"{(int)response.StatusCode} {body}\n{local.Output}");
        return JsonNode.Parse(body)!;
    }
}
