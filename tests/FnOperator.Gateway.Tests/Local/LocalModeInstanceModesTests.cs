using System.Text.Json.Nodes;
using static FnOperator.Gateway.Tests.Local.InstanceModes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// Local mode's per-instance behaviour in both instance modes: <c>--instances in-process</c> (each instance's
/// runtime-shim runs inside local mode's own process, fed from the in-memory queue without the pull protocol's HTTP) and
/// <c>--instances process</c> (a shim process per instance), with the same assertions. Every test runs a real node
/// runtime and asserts what the user sees: responses, the function's log lines, the pool's instances (runtime processes).
/// </summary>
public sealed class LocalModeInstanceModesTests : IDisposable
{
    private readonly TempManifests dir = new();

    public static TheoryData<string> Modes => [InProcess, Process];

    public void Dispose() => dir.Dispose();

    private const string Handler = """
        const held = [];
        exports.handler = async (event, context) => {
          console.log(`handling ${context.awsRequestId}`);
          if (event.mode === "hang") { await new Promise((r) => setTimeout(r, 600000)); }
          if (event.mode === "exit") { process.exit(event.code ?? 3); }
          if (event.mode === "signal") { process.kill(process.pid, event.signal); await new Promise((r) => setTimeout(r, 10000)); }
          if (event.mode === "alloc") { held.push(Buffer.alloc(event.mb * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 30000)); }
          if (event.fail) { throw new Error("asked to fail: " + event.fail); }
          if (event.sleepMs) { await new Promise((r) => setTimeout(r, event.sleepMs)); }
          return {
            echo: event, requestId: context.awsRequestId, pid: process.pid,
          };
        };
        """;

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Invoke_answers_with_the_log_tail_and_prints_the_functions_log_lines_with_its_prefix(string mode)
    {
        var name = "inproc-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 10", Handler);
        await using var local = await StartAsync(mode, dir.Root);

        var result = await InvokeAsync(local, name, """{"n":1}""", tail: true);

        Assert.True(result.Ok, $"{result}\n{local.Output}");
        Assert.Equal(1, (int)result.Json["echo"]!["n"]!);
        var id = (string)result.Json["requestId"]!;
        Assert.Equal(result.RequestId, id);
        Assert.NotNull(result.LogTail);
        Assert.Contains($"START RequestId: {id} Version: $LATEST", result.LogTail, StringComparison.Ordinal);
        Assert.Contains($"handling {id}", result.LogTail, StringComparison.Ordinal);
        Assert.Contains($"REPORT RequestId: {id}", result.LogTail, StringComparison.Ordinal);
        await local.WaitForLineAsync(l => l.StartsWith($"[{name}] REPORT RequestId: {id}", StringComparison.Ordinal), Wait);
        Assert.Single(local.Lines(l => l == $"[{name}] START RequestId: {id} Version: $LATEST"));
        Assert.Single(local.Lines(l => l == $"[{name}] END RequestId: {id}"));
        var started = mode == InProcess ? "keeper=" : "pid=";
        Assert.Contains(local.Lines(l => l.StartsWith($"[{name}] [shim] Started runtime, command=node {started}", StringComparison.Ordinal)), _ => true);
        Assert.Equal(1, await WaitForReadyAsync(local, name, mode, 1));

        var runtimePid = (int)result.Json["pid"]!;
        Assert.Equal([runtimePid], Runtimes(name));
        if (mode == InProcess)
        {
            // No shim process: the function's processes are its node runtime and the runtime's keeper (the shim binary's
            // `keeper` verb, its subreaper), a child of local mode itself.
            var keeper = ParentOf(runtimePid);
            Assert.True(keeper is { } k && FunctionProcesses.IsShim(k) && ParentOf(k) == local.ProcessId, local.Output);
            Assert.Equal(new[] { keeper!.Value, runtimePid }.Order(), FunctionProcesses.Of(name).Order());
        }
        else
        {
            Assert.True(ParentOf(runtimePid) is { } shim && FunctionProcesses.IsShim(shim) && ParentOf(shim) == local.ProcessId, local.Output);
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task The_runtime_gets_the_instances_environment_and_layers_not_local_modes_own_variables(string mode)
    {
        var name = "inproc-env-" + Guid.NewGuid().ToString("N")[..8];
        dir.Write("lib.yaml", """
            apiVersion: fnoperator.io/v1alpha1
            kind: Layer
            metadata:
              name: lib
            spec:
              content:
                path: lib
            """);
        dir.Write("lib/nodejs/node_modules/greet/index.js", "module.exports = (n) => `hello ${n} from the layer`;");
        dir.NodeFunction(name, name, "memoryMiB: 256\nenvironment:\n  - name: FOO\n    value: bar\nlayers:\n  - name: lib", """
            exports.handler = async (event, context) => ({
              greeting: require("greet")("Ada"),
              memory: context.memoryLimitInMB,
              env: { FOO: process.env.FOO ?? null, HOST_ONLY: process.env.HOST_ONLY ?? null, PASSED: process.env.PASSED ?? null,
                     SOURCE: process.env.FNOP_SOURCE_URL ?? null, PARENT: process.env.FNOP_PARENT_PID ?? null,
                     FUNCTION_ENV: process.env.FNOP_FUNCTION_ENV ?? null },
            });
            """);
        var environment = new Dictionary<string, string> { ["HOST_ONLY"] = "secret-of-local-mode", ["PASSED"] = "opted-in", ["FNOP_PASS_ENV"] = "PASSED" };
        await using var local = await StartAsync(mode, dir.Root, environment);

        var result = await InvokeAsync(local, name, "{}");

        Assert.True(result.Ok, $"{result}\n{local.Output}");
        Assert.Equal("hello Ada from the layer", (string?)result.Json["greeting"]);
        Assert.Equal("256", result.Json["memory"]!.ToString());
        var env = result.Json["env"]!;
        Assert.Equal("bar", (string?)env["FOO"]);
        Assert.Equal("opted-in", (string?)env["PASSED"]);
        Assert.Null((string?)env["HOST_ONLY"]);
        Assert.Null((string?)env["SOURCE"]);
        Assert.Null((string?)env["PARENT"]);
        Assert.Null((string?)env["FUNCTION_ENV"]);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Timeout_crash_and_memory_limit_fail_the_invocation_as_lambda_does_and_the_next_one_runs(string mode)
    {
        var name = "inproc-fail-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 2\nmemoryMiB: 128\nscaling:\n  maxReplicas: 1", Handler);
        await using var local = await StartAsync(mode, dir.Root);

        var timedOut = await InvokeAsync(local, name, """{"mode":"hang"}""", tail: true);
        var crashed = await InvokeAsync(local, name, """{"mode":"exit"}""");
        var tooBig = await InvokeAsync(local, name, """{"mode":"alloc","mb":400}""");
        var fine = await InvokeAsync(local, name, """{"n":4}""");

        Assert.True(timedOut.Status == 200 && timedOut.FunctionError is not null, $"{timedOut}\n{local.Output}");
        Assert.Equal("Sandbox.Timedout", (string?)timedOut.Json["errorType"]);
        Assert.Contains($"handling {timedOut.RequestId}", timedOut.LogTail, StringComparison.Ordinal);
        Assert.True(crashed.FunctionError is not null, $"{crashed}\n{local.Output}");
        Assert.Equal("Runtime.ExitError", (string?)crashed.Json["errorType"]);
        Assert.True(tooBig.FunctionError is not null, $"{tooBig}\n{local.Output}");
        Assert.Equal("Runtime.OutOfMemory", (string?)tooBig.Json["errorType"]);
        Assert.True(fine.Ok, $"{fine}\n{local.Output}");
        Assert.Equal(4, (int)fine.Json["echo"]!["n"]!);
        Assert.Contains(local.Lines(l => l.StartsWith($"[{name}] [shim] Reset runtime, reason=", StringComparison.Ordinal)), _ => true);

        // Each failure replaced the runtime inside the one instance: no new instance was needed.
        Assert.Single(ReadyLines(local, name, mode));
        Assert.Equal([(int)fine.Json["pid"]!], await WaitForRuntimesAsync(name, 1));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_runtimes_exit_code_or_killing_signal_ends_the_invocation_with_the_same_runtime_exit_error(string mode)
    {
        var name = "inproc-status-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 20\nscaling:\n  maxReplicas: 1", Handler);
        await using var local = await StartAsync(mode, dir.Root);

        var exited = await InvokeAsync(local, name, """{"mode":"exit","code":42}""");
        var signalled = await InvokeAsync(local, name, """{"mode":"signal","signal":"SIGSEGV"}""");
        var fine = await InvokeAsync(local, name, """{"n":1}""");

        Assert.True(exited.FunctionError is not null, $"{exited}\n{local.Output}");
        Assert.Equal("Runtime.ExitError", (string?)exited.Json["errorType"]);
        Assert.Equal($"RequestId: {exited.RequestId} Error: Runtime exited with error: exit status 42", (string?)exited.Json["errorMessage"]);
        Assert.True(signalled.FunctionError is not null, $"{signalled}\n{local.Output}");
        Assert.Equal("Runtime.ExitError", (string?)signalled.Json["errorType"]);
        Assert.Equal($"RequestId: {signalled.RequestId} Error: Runtime exited with error: signal: segmentation fault", (string?)signalled.Json["errorMessage"]);
        Assert.True(fine.Ok, $"{fine}\n{local.Output}");
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Concurrent_work_scales_up_to_max_replicas_and_idle_scales_to_zero_and_back(string mode)
    {
        var name = "inproc-scale-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 30\nscaling:\n  maxReplicas: 2", Handler);
        await using var local = await StartAsync(mode, dir.Root, null, "--idle-seconds", "2");

        var results = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => InvokeAsync(local, name, $$"""{"i":{{i}},"sleepMs":1500}""")));

        Assert.All(results, r => Assert.True(r.Ok, $"{r}\n{local.Output}"));
        Assert.Equal([0, 1, 2, 3, 4], results.Select(r => (int)r.Json["echo"]!["i"]!).Order());
        Assert.Equal(2, results.Select(r => (int)r.Json["pid"]!).Distinct().Count());
        Assert.Equal(2, await WaitForReadyAsync(local, name, mode, 2));

        var idle = await FunctionProcesses.WaitUntilAsync(name, p => p.Count == 0, Wait);
        Assert.True(idle.Count == 0, $"runtimes still running after the idle window: {string.Join(",", idle)}\n{local.Output}");
        await local.WaitForLineAsync(l => l.Contains($"Scaled function {name} from 2 to 0 instances", StringComparison.Ordinal)
            || l.Contains($"Scaled function {name} from 1 to 0 instances", StringComparison.Ordinal), Wait);

        var again = await InvokeAsync(local, name, """{"again":true}""");
        Assert.True(again.Ok, $"{again}\n{local.Output}");
        Assert.Equal(3, await WaitForReadyAsync(local, name, mode, 3));
        Assert.Single(Runtimes(name));
    }

    // Each invocation waits at a barrier in the runtime until event.expect have arrived: none answers unless all run at
    // once in the one runtime process (as LocalModePerInstanceTests).
    private const string BarrierHandler = """
        let arrived = 0;
        exports.handler = async (event, context) => {
          arrived++;
          while (arrived < event.expect) await new Promise((r) => setTimeout(r, 10));
          return { i: event.i, pid: process.pid, requestId: context.awsRequestId };
        };
        """;

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task PerInstance_4_runs_four_invocations_at_once_in_one_instance(string mode)
    {
        var name = "inproc-per-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 60\nconcurrency:\n  perInstance: 4\nscaling:\n  maxReplicas: 1", BarrierHandler);
        await using var local = await StartAsync(mode, dir.Root, null, "--idle-seconds", "600");

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => InvokeAsync(local, name, $$"""{"i":{{i}},"expect":4}""")));

        Assert.All(results, r => Assert.True(r.Ok, $"{r}\n{local.Output}"));
        Assert.Equal([0, 1, 2, 3], results.Select(r => (int)r.Json["i"]!).Order());
        Assert.Single(results.Select(r => (int)r.Json["pid"]!).Distinct());
        Assert.Equal(4, results.Select(r => (string)r.Json["requestId"]!).Distinct().Count());
        Assert.Single(ReadyLines(local, name, mode));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Editing_the_code_restarts_the_warm_instance_and_the_next_invoke_runs_the_new_code(string mode)
    {
        var name = "inproc-reload-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, handlerCode: "exports.handler = async () => ({ version: 1, pid: process.pid });");
        await using var local = await StartAsync(mode, dir.Root);
        await local.WaitForLineAsync(l => l.StartsWith("Code folders are watched", StringComparison.Ordinal), Wait);
        var first = await InvokeAsync(local, name, "{}");
        Assert.Equal(1, (int)first.Json["version"]!);

        dir.Write($"{name}/src/index.js", "exports.handler = async () => ({ version: 2, pid: process.pid });");
        await local.WaitForLineAsync(l => l.StartsWith($"[{name}] code changed (index.js); restarting 1 warm instance", StringComparison.Ordinal), Wait);
        await WaitForReadyAsync(local, name, mode, 2);

        var second = await InvokeAsync(local, name, "{}");
        Assert.True(second.Ok, $"{second}\n{local.Output}");
        Assert.Equal(2, (int)second.Json["version"]!);
        Assert.NotEqual((int)first.Json["pid"]!, (int)second.Json["pid"]!);
        Assert.Equal([(int)second.Json["pid"]!], await WaitForRuntimesAsync(name, 1));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Async_events_run_and_one_that_fails_every_attempt_lands_in_the_dead_letter_queue(string mode)
    {
        var name = "inproc-async-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 10\nasync:\n  maximumRetryAttempts: 1", Handler);
        await using var local = await StartAsync(mode, dir.Root, null, "--retry-base-delay-seconds", "0");

        var accepted = await InvokeAsync(local, name, """{"n":7}""", type: "Event");
        var failing = await InvokeAsync(local, name, """{"fail":"always"}""", type: "Event");

        Assert.Equal(202, accepted.Status);
        Assert.Equal(202, failing.Status);
        await local.WaitForLineAsync(l => l.StartsWith($"[{name}] REPORT RequestId: {accepted.RequestId}", StringComparison.Ordinal), Wait);
        using var http = new HttpClient();
        JsonArray? messages = null;
        var deadline = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < deadline && messages is not { Count: > 0 })
        {
            var body = await http.GetStringAsync($"{local.Endpoint}/_fnop/v1/queues/default.{name}.dlq/messages?max=10");
            messages = JsonNode.Parse(body)!["messages"]?.AsArray();
            if (messages is not { Count: > 0 })
            {
                await Task.Delay(200);
            }
        }

        var record = Assert.Single(messages!);
        Assert.Contains("asked to fail: always", record!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(2, local.Lines(l => l.Contains("handling " + failing.RequestId, StringComparison.Ordinal)).Count);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Sigterm_drains_the_in_flight_invocation_then_stops_with_no_runtime_left(string mode)
    {
        var name = "inproc-stop-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 30", Handler);
        var local = await StartAsync(mode, dir.Root);
        await using (local)
        {
            var busy = InvokeAsync(local, name, """{"sleepMs":3000,"n":9}""");
            await local.WaitForLineAsync(l => l.StartsWith($"[{name}] START RequestId:", StringComparison.Ordinal), Wait);

            var exitCode = await local.StopAsync(Wait);

            var result = await busy;
            Assert.True(result.Ok, $"{result}\n{local.Output}");
            Assert.Equal(9, (int)result.Json["echo"]!["n"]!);
            Assert.True(exitCode == 0, $"exit code {exitCode}\n{local.Output}");
            Assert.Contains("Stopped.", local.Output, StringComparison.Ordinal);
            Assert.Empty(await FunctionProcesses.WaitUntilAsync(name, p => p.Count == 0, Wait));
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_process_the_handler_detached_dies_when_local_mode_stops(string mode)
    {
        var name = "inproc-orphan-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 10", """
            const { spawn } = require("node:child_process");
            exports.handler = async () => {
              const child = spawn("sleep", ["600"], { detached: true, stdio: "ignore" }); // its own session: not in the runtime's group
              child.unref();
              return { orphan: child.pid };
            };
            """);
        var local = await StartAsync(mode, dir.Root);
        await using (local)
        {
            var result = await InvokeAsync(local, name, "{}");
            Assert.True(result.Ok, $"{result}\n{local.Output}");
            var orphan = (int)result.Json["orphan"]!;
            Assert.NotNull(ParentOf(orphan));

            Assert.Equal(0, await local.StopAsync(Wait));

            var deadline = DateTime.UtcNow + Wait;
            while (ParentOf(orphan) is not null && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }

            Assert.True(ParentOf(orphan) is null, $"the detached process {orphan} outlived local mode\n{local.Output}");
        }
    }

    [Fact]
    public async Task A_second_ctrl_c_stops_in_process_instances_at_once_and_the_waiting_caller_is_not_left_hanging()
    {
        // As LocalModeStopTests' process-mode test: the invocation would run 10 minutes and a graceful stop would wait
        // up to 905 s; local mode exiting within Wait after the second Ctrl-C shows it did not wait.
        var name = "inproc-now-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 900\nconcurrency:\n  reserved: 1", Handler);
        await using var local = await StartAsync(InProcess, dir.Root);
        var slow = InvokeAsync(local, name, """{"sleepMs":600000}""");
        await local.WaitForLineAsync(l => l.StartsWith($"[{name}] START RequestId", StringComparison.Ordinal), Wait);
        var queued = await InvokeAsync(local, name, "{}", type: "Event");
        Assert.Equal(202, queued.Status);

        await local.InterruptAsync();
        await local.WaitForLineAsync(l => l == "Stopping: waiting for 1 in-flight invocation, up to 905 s; Ctrl-C again to stop now", Wait);
        Assert.False(local.HasExited, local.Output);
        await local.InterruptAsync();
        var exitCode = await local.WaitForExitAsync(Wait);

        Assert.Equal(130, exitCode);
        Assert.Single(local.Lines(l => l == "Stopping now: killing the function instances."));
        Assert.Single(local.Lines(l => l == $"Discarded 1 queued async event (local mode's queue is in memory): {name} 1"));
        Assert.Empty(await FunctionProcesses.WaitUntilAsync(name, p => p.Count == 0, Wait));

        // The killed runtime's invocation ends as Runtime.ExitError when its answer still reaches the caller before the
        // listener closes, else the connection is cut; never a success, never a wait for the 10 minutes.
        try
        {
            var answered = await slow;
            Assert.True(answered.FunctionError is not null, $"{answered}\n{local.Output}");
            Assert.Equal("Runtime.ExitError", (string?)answered.Json["errorType"]);
        }
        catch (HttpRequestException)
        {
            // Cut, as in process mode.
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Sigkill_of_local_mode_during_an_invocation_leaves_no_runtime_running(string mode)
    {
        var name = "inproc-kill-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 900", Handler);
        await using var local = await StartAsync(mode, dir.Root);
        var busy = InvokeAsync(local, name, """{"sleepMs":600000}""");
        await local.WaitForLineAsync(l => l.StartsWith($"[{name}] START RequestId:", StringComparison.Ordinal), Wait);
        Assert.NotEmpty(FunctionProcesses.Of(name));

        await local.KillAloneAsync(Wait);

        var left = await FunctionProcesses.WaitUntilAsync(name, p => p.Count == 0, Wait);
        Assert.True(left.Count == 0, $"still running after local mode was killed: {string.Join(",", left)}");
        await Assert.ThrowsAnyAsync<Exception>(() => busy);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task A_streamed_response_reaches_the_sdk_chunk_by_chunk_while_the_handler_waits(string mode)
    {
        dir.NodeFunction("streamer", "streamer", "timeoutSeconds: 60", Streaming.StreamingFunctionsFixture.Streamer);
        var signals = dir.SharedWritableFolder("signals");
        var signal = Path.Combine(signals, Guid.NewGuid().ToString("N"));
        await using var local = await StartAsync(mode, dir.Root);

        // The handler writes chunk-2 only after the SDK saw chunk-1 and wrote the signal file (StreamingLocalModeTests).
        var result = await Streaming.StreamSdk.InvokeAsync(local.Endpoint, new JsonObject
        {
            ["functionName"] = "streamer",
            ["payload"] = new JsonObject { ["signal"] = signal },
            ["signalFile"] = signal,
        });

        Assert.True((bool)result["ok"]!, result.ToJsonString() + "\n" + local.Output);
        Assert.Equal("text/plain", (string?)result["contentType"]);
        var chunks = result["events"]!.AsArray().Select(e => e!.AsObject()).Where(e => (string?)e["type"] == "PayloadChunk").ToList();
        Assert.Equal("chunk-1;chunk-2;chunk-3;", string.Concat(chunks.Select(c => (string?)c["text"])));
        Assert.Equal("chunk-1;", (string?)chunks[0]["text"]);
        Assert.False((bool)chunks[0]["signalledBefore"]!);
        Assert.Null(result["events"]!.AsArray()[^1]!["errorCode"]);
    }

    [Fact]
    public async Task An_unknown_instance_mode_is_refused_naming_the_option()
    {
        dir.NodeFunction("fn", "fn");

        var (exitCode, _, stderr) = await LocalModeProcess.RunToExitAsync(Wait, "--functions", dir.Root, "--listen", "127.0.0.1:0", "--instances", "threads");

        Assert.Equal(2, exitCode);
        Assert.Contains("--instances: 'threads' is not process or in-process", stderr, StringComparison.Ordinal);
    }
}
