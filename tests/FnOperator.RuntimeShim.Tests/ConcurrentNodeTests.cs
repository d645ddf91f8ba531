using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// AWS_LAMBDA_MAX_CONCURRENCY &gt; 1 (spec.concurrency.perInstance, docs/concurrency.md) on the project's Node.js bootstrap:
/// several invocations at once in one runtime process, each answered to its own caller, logs attributed by request id,
/// timeouts as Lambda Managed Instances have them.
/// </summary>
public class ConcurrentNodeTests
{
    /// <summary>The Runtime API server these cases run against (<see cref="ConcurrentNodeTestsOnKestrel"/> runs them all on Kestrel's).</summary>
    protected virtual string ApiServer => ShimOptions.RawRuntimeApiServer;

    private Task<FunctionUnderTest> StartFunctionAsync(
        Client client, double timeoutSeconds = 120, IReadOnlyDictionary<string, string>? extra = null, string? handlerFile = null) =>
        FunctionUnderTest.StartAsync(client, timeoutSeconds, extra, handlerFile, ApiServer);

    private Task<FunctionUnderTest> StartInlineAsync(
        Client client, string file, string code, Dictionary<string, string>? extra = null, double timeoutSeconds = 120) =>
        InlineFunction.StartAsync(client, file, code, extra, timeoutSeconds, ApiServer);

    // Every invocation waits at an in-process barrier until `expect` invocations have arrived: none can answer unless they
    // all run at once in this one process.
    private const string BarrierHandler = """
        let arrived = 0;
        let calls = 0;
        const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
        export const handler = async (event, context) => {
          calls++;
          if (event.sleepMs) {
            console.log(`sleeping ${event.tag}`);
            await sleep(event.sleepMs);
            console.log(`finished ${event.tag}`);
            return { tag: event.tag, pid: process.pid, calls };
          }
          if (event.expect) {
            arrived++;
            console.log(`arrived ${event.tag}`);
            while (arrived < event.expect) await sleep(10);
            console.log(`released ${event.tag}`);
          }
          return { tag: event.tag, id: context.awsRequestId, pid: process.pid, calls, remaining: context.getRemainingTimeInMillis() };
        };
        """;

    private static Dictionary<string, string> Concurrency(int n) => new() { [LambdaVariables.MaxConcurrency] = n.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    [Fact]
    public async Task Four_invocations_run_at_once_in_one_process_and_each_answers_its_own_caller_with_its_own_logs()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", BarrierHandler, Concurrency(4));

        var invocations = Enumerable.Range(0, 4)
            .Select(i => fn.Server.Enqueue(JsonSerializer.Serialize(new { tag = $"t{i}", expect = 4 }), tailLog: true))
            .ToList();
        var results = await Task.WhenAll(invocations.Select(i => fn.Server.ResultAsync(i.RequestId)));

        var pids = new HashSet<int>();
        for (var i = 0; i < 4; i++)
        {
            var result = results[i];
            Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
            var body = result.Json();
            Assert.Equal($"t{i}", body.GetProperty("tag").GetString());
            Assert.Equal(invocations[i].RequestId, body.GetProperty("id").GetString());
            Assert.Equal(invocations[i].RequestId, result.RequestId);
            Assert.True(body.GetProperty("remaining").GetInt64() > 0);
            pids.Add(body.GetProperty("pid").GetInt32());

            // The tail holds this invocation's lines only: its START/END/REPORT and what its handler logged.
            var tail = result.LogTail!;
            var id = invocations[i].RequestId;
            Assert.Contains($"START RequestId: {id}", tail);
            Assert.Contains($"REPORT RequestId: {id}", tail);
            Assert.Contains($"\t{id}\tINFO\tarrived t{i}", tail);
            Assert.Contains($"\t{id}\tINFO\treleased t{i}", tail);
            foreach (var other in invocations.Where(o => o.RequestId != id))
            {
                Assert.DoesNotContain(other.RequestId, tail);
            }

            Assert.Matches(@"Max Memory Used: [1-9]\d* MB", tail);
        }

        Assert.Single(pids);

        // The function's log stream has every line, each with its own request id.
        for (var i = 0; i < 4; i++)
        {
            await fn.Shim.WaitForLineAsync(l => l.Contains($"\t{invocations[i].RequestId}\tINFO\treleased t{i}", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Json_log_lines_are_attributed_to_their_invocation()
    {
        var env = Concurrency(2);
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON";
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", BarrierHandler, env);

        var a = fn.Server.Enqueue("""{"tag":"ja","expect":2}""", tailLog: true);
        var b = fn.Server.Enqueue("""{"tag":"jb","expect":2}""", tailLog: true);
        var ra = await fn.Server.ResultAsync(a.RequestId);
        var rb = await fn.Server.ResultAsync(b.RequestId);

        Assert.True(ra.Outcome == InvocationOutcome.Success, ra.Describe());
        Assert.True(rb.Outcome == InvocationOutcome.Success, rb.Describe());
        Assert.Contains($"\"requestId\":\"{a.RequestId}\",\"message\":\"released ja\"", ra.LogTail);
        Assert.DoesNotContain("jb", ra.LogTail);
        Assert.Contains($"\"requestId\":\"{b.RequestId}\",\"message\":\"released jb\"", rb.LogTail);
        Assert.DoesNotContain("ja", rb.LogTail);
    }

    [Fact]
    public async Task A_timeout_fails_only_its_invocation_and_the_runtime_keeps_running_the_others()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", BarrierHandler, Concurrency(2), timeoutSeconds: 3);

        // Warm the runtime and learn its pid.
        var first = await fn.Server.InvokeAsync("""{"tag":"warm"}""");
        Assert.True(first.Outcome == InvocationOutcome.Success, first.Describe());
        var pid = first.Json().GetProperty("pid").GetInt32();

        // The slow one times out after 3 s while the runtime keeps running it (for 5 s in all); the other lane serves on.
        var slow = fn.Server.Enqueue("""{"tag":"slow","sleepMs":5000}""", tailLog: true);
        var timedOut = await fn.Server.ResultAsync(slow.RequestId);
        Assert.True(timedOut.ErrorType == "Sandbox.Timedout", timedOut.Describe());
        Assert.Contains("Task timed out after 3.00 seconds", timedOut.LogTail);

        var during = await fn.Server.InvokeAsync("""{"tag":"during"}""");
        Assert.True(during.Outcome == InvocationOutcome.Success, during.Describe());
        Assert.Equal(pid, during.Json().GetProperty("pid").GetInt32());

        // Once the runtime has finished the timed-out one (its late answer is refused), both lanes serve again, same process.
        await fn.Shim.WaitForLineAsync(l => l.Contains($"\t{slow.RequestId}\tINFO\tfinished slow", StringComparison.Ordinal));
        var x = fn.Server.Enqueue("""{"tag":"x","expect":2}""");
        var y = fn.Server.Enqueue("""{"tag":"y","expect":2}""");
        var rx = await fn.Server.ResultAsync(x.RequestId);
        var ry = await fn.Server.ResultAsync(y.RequestId);
        Assert.True(rx.Outcome == InvocationOutcome.Success, rx.Describe());
        Assert.True(ry.Outcome == InvocationOutcome.Success, ry.Describe());
        Assert.Equal(pid, rx.Json().GetProperty("pid").GetInt32());
        Assert.Equal(pid, ry.Json().GetProperty("pid").GetInt32());
        Assert.Equal(5, Math.Max(rx.Json().GetProperty("calls").GetInt32(), ry.Json().GetProperty("calls").GetInt32()));
    }

    [Fact]
    public async Task When_every_lane_holds_a_timed_out_invocation_the_runtime_is_replaced()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", BarrierHandler, Concurrency(2), timeoutSeconds: 2);
        var first = await fn.Server.InvokeAsync("""{"tag":"warm"}""");
        var pid = first.Json().GetProperty("pid").GetInt32();

        var a = fn.Server.Enqueue("""{"tag":"a","sleepMs":600000}""");
        var b = fn.Server.Enqueue("""{"tag":"b","sleepMs":600000}""");
        Assert.Equal("Sandbox.Timedout", (await fn.Server.ResultAsync(a.RequestId)).ErrorType);
        Assert.Equal("Sandbox.Timedout", (await fn.Server.ResultAsync(b.RequestId)).ErrorType);

        var after = await fn.Server.InvokeAsync("""{"tag":"after"}""");
        Assert.True(after.Outcome == InvocationOutcome.Success, after.Describe());
        Assert.NotEqual(pid, after.Json().GetProperty("pid").GetInt32());
        Assert.Equal(1, after.Json().GetProperty("calls").GetInt32());
    }

    [Fact]
    public async Task Callback_handlers_answer_at_once_and_each_sees_its_own_remaining_time()
    {
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", """
            export const handler = (event, context, callback) => {
              setTimeout(() => callback(null, { tag: event.tag, id: context.awsRequestId, remaining: context.getRemainingTimeInMillis() }), event.waitMs);
            };
            """, Concurrency(3), timeoutSeconds: 60);

        var invocations = new[] { 300, 10, 150 }.Select((ms, i) => fn.Server.Enqueue(JsonSerializer.Serialize(new { tag = $"c{i}", waitMs = ms }))).ToList();
        foreach (var (invocation, i) in invocations.Select((v, i) => (v, i)))
        {
            var result = await fn.Server.ResultAsync(invocation.RequestId);
            Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
            Assert.Equal($"c{i}", result.Json().GetProperty("tag").GetString());
            Assert.Equal(invocation.RequestId, result.Json().GetProperty("id").GetString());
            var remaining = result.Json().GetProperty("remaining").GetInt64();
            Assert.InRange(remaining, 1, 60_000);
        }
    }

    [Fact]
    public async Task Each_concurrent_invocation_sees_its_own_trace_id_on_its_context_and_none_in_the_environment()
    {
        // As aws-lambda-ric 4 in its multi-concurrent mode: no per-invocation _X_AMZN_TRACE_ID (one process, several
        // invocations), the invocation's own trace id on context.xRayTraceId. The three meet at a barrier, so each
        // reads both while the others are in flight.
        await using var fn = await StartInlineAsync(Client.NodeBootstrap, "app.mjs", """
            let arrived = 0;
            export const handler = async (event, context) => {
              arrived++;
              while (arrived < 3) await new Promise((r) => setTimeout(r, 10));
              return { tag: event.tag, trace: context.xRayTraceId, env: process.env._X_AMZN_TRACE_ID ?? null };
            };
            """, Concurrency(3));

        var traces = Enumerable.Range(0, 3).Select(i => $"Root=1-5759e988-bd862e3fe1be46a99427279{i};Parent=53995c3f42cd8ad{i};Sampled=1").ToList();
        var invocations = traces.Select((trace, i) => fn.Server.Enqueue(JsonSerializer.Serialize(new { tag = $"x{i}" }), traceId: trace)).ToList();
        for (var i = 0; i < 3; i++)
        {
            var result = await fn.Server.ResultAsync(invocations[i].RequestId);
            Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
            Assert.Equal($"x{i}", result.Json().GetProperty("tag").GetString());
            Assert.Equal(traces[i], result.Json().GetProperty("trace").GetString());
            Assert.Equal(JsonValueKind.Null, result.Json().GetProperty("env").ValueKind);
        }
    }

    [Fact]
    public async Task Two_streamed_responses_are_written_at_once_each_to_its_own_caller()
    {
        await using var fn = await StartFunctionAsync(Client.NodeBootstrap, extra: Concurrency(2), handlerFile: "streaming.mjs");
        var invocations = Enumerable.Range(0, 2).Select(_ =>
        {
            var go = Path.Combine(fn.TaskRoot, "go-" + Guid.NewGuid().ToString("N"));
            return (Go: go, Invocation: fn.Server.Enqueue(JsonSerializer.Serialize(new { action = "chunks", value = new { go } }), stream: true));
        }).ToList();

        // Each handler writes its second chunk only after its file exists: both first chunks arriving proves both run at once.
        foreach (var (_, invocation) in invocations)
        {
            var first = await fn.Server.Streams[invocation.RequestId].ReadUntilAsync($"chunk-1:{invocation.RequestId};");
            Assert.DoesNotContain("chunk-2", first, StringComparison.Ordinal);
        }

        foreach (var (go, invocation) in invocations)
        {
            File.WriteAllText(go, "");
            Assert.Equal($"chunk-1:{invocation.RequestId};chunk-2;", await fn.Server.Streams[invocation.RequestId].ReadToEndAsync());
            var result = await fn.Server.ResultAsync(invocation.RequestId);
            Assert.True(result.Outcome == InvocationOutcome.Success, result.Describe());
        }
    }

    [Fact]
    public async Task The_aws_lambda_ric_client_runs_invocations_at_once_in_its_multi_concurrent_mode()
    {
        // aws-lambda-ric 4.x reads AWS_LAMBDA_MAX_CONCURRENCY itself: worker threads in one process, each polling `next`.
        await using var fn = await StartFunctionAsync(Client.AwsLambdaRic, extra: Concurrency(4), handlerFile: "barrier.mjs");
        var dir = Directory.CreateTempSubdirectory("fnop-barrier-").FullName;
        try
        {
            var invocations = Enumerable.Range(0, 4)
                .Select(i => fn.Server.Enqueue(JsonSerializer.Serialize(new { tag = $"r{i}", expect = 4, dir }), tailLog: true))
                .ToList();
            var results = await Task.WhenAll(invocations.Select(i => fn.Server.ResultAsync(i.RequestId)));

            for (var i = 0; i < 4; i++)
            {
                Assert.True(results[i].Outcome == InvocationOutcome.Success, results[i].Describe());
                Assert.Equal(invocations[i].RequestId, results[i].Json().GetProperty("id").GetString());
                Assert.Contains($"START RequestId: {invocations[i].RequestId}", results[i].LogTail);
                foreach (var other in invocations.Where(o => o.RequestId != invocations[i].RequestId))
                {
                    Assert.DoesNotContain(other.RequestId, results[i].LogTail);
                }
            }

            Assert.Single(results.Select(r => r.Json().GetProperty("pid").GetInt32()).Distinct());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>Every case of <see cref="ConcurrentNodeTests"/> with FNOP_RUNTIME_API_SERVER=kestrel.</summary>
public sealed class ConcurrentNodeTestsOnKestrel : ConcurrentNodeTests
{
    protected override string ApiServer => ShimOptions.KestrelRuntimeApiServer;
}
