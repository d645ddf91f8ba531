using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>
/// Runs one invocation on the supervised runtime with Lambda's semantics: START line, hand-off through the
/// <see cref="InvocationSlot"/>, timeout (kill + fresh runtime), crash (Runtime.ExitError), oversize response, END and
/// REPORT lines, log tail.
/// </summary>
public sealed partial class InvocationRunner(
    ShimOptions options, RuntimeSupervisor supervisor, InvocationSlot slot, LogSink sink, MemorySampler memory, ILogger<InvocationRunner> logger)
{
    /// <summary>How long the end of a successful invocation waits for the runtime's next `GET next` before draining its output.</summary>
    public static readonly TimeSpan NextPollWait = TimeSpan.FromSeconds(1);

    /// <summary>Runs the invocation; null when <paramref name="stopping"/> fired before it reached the runtime (release it).</summary>
    public async Task<InvocationResult?> RunAsync(Invocation invocation, CancellationToken stopping)
    {
        ReadyState ready;
        try
        {
            ready = await supervisor.EnsureReadyAsync(options.InitTimeout, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return null;
        }

        var id = invocation.RequestId;
        if (invocation.TailLog)
        {
            sink.BeginCapture();
        }

        sink.WriteLineDeferred($"START RequestId: {id} Version: {options.FunctionVersion}");
        var started = Stopwatch.GetTimestamp();
        var (outcome, peakMb) = ready.IsReady
            ? await InvokeAsync(ready.Instance!, invocation, started).ConfigureAwait(false)
            : (Failed(ready.Failure!, id), (int?)null);

        var duration = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var billed = (long)Math.Ceiling(duration);
        var maxMemory = peakMb ?? memory.PeakMb();
        var init = ready.InitDurationMs is { } ms ? string.Create(CultureInfo.InvariantCulture, $"\tInit Duration: {ms:0.00} ms") : "";
        sink.WriteLines($"END RequestId: {id}", string.Create(CultureInfo.InvariantCulture,
            $"REPORT RequestId: {id}\tDuration: {duration:0.00} ms\tBilled Duration: {billed} ms\tMemory Size: {options.MemorySizeMb} MB\tMax Memory Used: {maxMemory} MB{init}\t"));
        var tail = invocation.TailLog ? sink.EndCapture() : null;

        Record(outcome, duration, ready.InitDurationMs);
        return outcome with
        {
            ExecutedVersion = options.FunctionVersion,
            LogTail = tail,
            DurationMs = duration,
            BilledDurationMs = billed,
            MemorySizeMb = options.MemorySizeMb,
            MaxMemoryUsedMb = maxMemory,
            InitDurationMs = ready.InitDurationMs,
        };
    }

    /// <summary>
    /// Hands the invocation to the runtime and waits for its reply, its exit or the timeout. Returns the result and, when the
    /// runtime was replaced, the peak memory of the runtime that ran it (read before the fresh one resets the sampler).
    /// </summary>
    private async Task<(InvocationResult Result, int? PeakMb)> InvokeAsync(RuntimeInstance runtime, Invocation invocation, long started)
    {
        var id = invocation.RequestId;
        var remaining = Remaining(started);
        runtime.ExpectNextPoll();
        var active = slot.Dispatch(invocation, DateTimeOffset.UtcNow + remaining);

        // One timer per wait, removed as soon as the wait ends (WaitAsync), and no exception when it fires. A timeout
        // replaces the runtime, so the WhenAny left behind completes with its Exited.
        await ((Task)Task.WhenAny(active.Reply.Task, runtime.Exited)).WaitAsync(remaining).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        // An answer accepted before Finish wins (its poster may still be setting the reply: awaited, it completes at once).
        if (slot.Finish(active))
        {
            var reply = await active.Reply.Task.ConfigureAwait(false);

            // Lambda attributes a runtime's output to the invocation until the runtime asks for the next one. An invocation
            // that wrote nothing has nothing in flight (what a runtime writes first lands in the pipe), so it does not wait.
            var wrote = runtime.WroteSinceDispatch;
            if (wrote)
            {
                await ((Task)Task.WhenAny(runtime.NextPolled, runtime.Exited)).WaitAsync(NextPollWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            // Nothing written and every pipe seen idle exactly just now: nothing is on its way, so the drain's own look at
            // the pipes (two more FIONREADs per invocation, issue #19) is not needed; its partial lines are still emitted.
            if (wrote || !runtime.OutputIdleIsExact)
            {
                await runtime.FlushOutputAsync().ConfigureAwait(false);
            }
            else
            {
                runtime.FlushPartialLines();
            }

            return (FromReply(reply, id), null);
        }

        if (runtime.Exited.IsCompleted)
        {
            await runtime.FlushOutputAsync().ConfigureAwait(false);
            var code = runtime.Exited.Result;
            var outOfMemory = memory.LimitReached;

            // Lambda's REPORT never shows more than the memory size: at the limit it shows the limit.
            var peak = outOfMemory ? Math.Min(memory.PeakMb(), options.MemorySizeMb) : memory.PeakMb();
            var message = $"RequestId: {id} Error: Runtime exited with error: {RuntimeInstance.ExitDescription(code)}";
            var errorType = outOfMemory ? "Runtime.OutOfMemory" : "Runtime.ExitError";
            LogRuntimeExited(logger, id, code);
            sink.WriteLine(message);
            sink.WriteLine(errorType);
            await supervisor.ResetAsync(outOfMemory ? "out of memory" : "runtime exited").ConfigureAwait(false);
            return (Failed(new RuntimeFailure(errorType, message), id), peak);
        }

        var seconds = options.TimeoutSeconds.ToString("0.00", CultureInfo.InvariantCulture);
        sink.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {id} Task timed out after {seconds} seconds");
        var timedOutPeak = memory.PeakMb();
        await supervisor.ResetAsync("timeout").ConfigureAwait(false);
        ShimMetrics.Timeouts.Inc();
        return (Failed(new RuntimeFailure("Sandbox.Timedout", $"RequestId: {id} Error: Task timed out after {seconds} seconds"), id), timedOutPeak);
    }

    /// <summary>
    /// One of several concurrent invocations (AWS_LAMBDA_MAX_CONCURRENCY &gt; 1, docs/concurrency.md). As
    /// <see cref="RunAsync"/>, with what Lambda Managed Instances do: every line is written for its request id (START,
    /// END, REPORT, errors; the tail holds only lines attributed to it), REPORT's Max Memory Used is the runtime process's
    /// peak while this invocation ran, and a timeout fails only this invocation: the runtime keeps running it and the others
    /// (<see cref="ConcurrentRun.Abandoned"/>: the lane waits for its late answer). A runtime that exits fails every
    /// invocation it held and is replaced once.
    /// </summary>
    public async Task<ConcurrentRun?> RunConcurrentAsync(Invocation invocation, bool claimed, CancellationToken stopping)
    {
        ReadyState ready;
        try
        {
            ready = await supervisor.EnsureReadyAsync(options.InitTimeout, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return null;
        }

        var id = invocation.RequestId;
        if (!ready.IsReady && claimed)
        {
            slot.ReleaseClaim();
        }

        if (invocation.TailLog)
        {
            sink.BeginCapture(id);
        }

        sink.WriteLineDeferred($"START RequestId: {id} Version: {options.FunctionVersion}", id);
        var started = Stopwatch.GetTimestamp();
        var watch = memory.BeginWatch();
        var (outcome, abandoned, capped) = ready.IsReady
            ? await InvokeConcurrentAsync(ready.Instance!, invocation, claimed, started).ConfigureAwait(false)
            : (Failed(ready.Failure!, id), null, false);

        var duration = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var billed = (long)Math.Ceiling(duration);
        var maxMemory = memory.EndWatch(watch);
        if (capped)
        {
            maxMemory = Math.Min(maxMemory, options.MemorySizeMb);
        }

        var init = ready.InitDurationMs is { } ms ? string.Create(CultureInfo.InvariantCulture, $"\tInit Duration: {ms:0.00} ms") : "";
        sink.WriteLines($"END RequestId: {id}", string.Create(CultureInfo.InvariantCulture,
            $"REPORT RequestId: {id}\tDuration: {duration:0.00} ms\tBilled Duration: {billed} ms\tMemory Size: {options.MemorySizeMb} MB\tMax Memory Used: {maxMemory} MB{init}\t"), id);
        var tail = invocation.TailLog ? sink.EndCapture(id) : null;

        Record(outcome, duration, ready.InitDurationMs);
        var result = outcome with
        {
            ExecutedVersion = options.FunctionVersion,
            LogTail = tail,
            DurationMs = duration,
            BilledDurationMs = billed,
            MemorySizeMb = options.MemorySizeMb,
            MaxMemoryUsedMb = maxMemory,
            InitDurationMs = ready.InitDurationMs,
        };
        return new ConcurrentRun(result, abandoned, ready.Instance);
    }

    private async Task<(InvocationResult Result, ActiveInvocation? Abandoned, bool Capped)> InvokeConcurrentAsync(
        RuntimeInstance runtime, Invocation invocation, bool claimed, long started)
    {
        var id = invocation.RequestId;
        var remaining = Remaining(started);
        ActiveInvocation active;
        try
        {
            active = slot.Dispatch(invocation, DateTimeOffset.UtcNow + remaining, claimed);
        }
        catch (InvalidOperationException)
        {
            // The same request id twice at once (a redelivery), or no room: the claim goes back, the lane reports the failure.
            if (claimed)
            {
                slot.ReleaseClaim();
            }

            throw;
        }

        // A timer of its own (not WaitAsync): after a timeout the runtime keeps running, and the wait must not stay
        // attached to its Exited for the rest of its life.
        using var timer = new CancellationTokenSource(remaining);
        var timeout = Task.Delay(Timeout.Infinite, timer.Token);
        await Task.WhenAny(active.Reply.Task, runtime.Exited, timeout).ConfigureAwait(false);

        // Finish decides with the posts, under the slot's lock: an answer accepted before it wins (its poster may still be
        // setting the reply: awaited, it completes at once); else an exit; else a timeout, abandoned to the runtime that
        // still runs it (a later answer frees the lane).
        var exited = runtime.Exited.IsCompleted;
        if (slot.Finish(active, abandoned: !exited))
        {
            var reply = await active.Reply.Task.ConfigureAwait(false);

            // The bootstraps flush their output before they post, so what this invocation wrote is in the pipes by now.
            await runtime.FlushOutputWrittenAsync().ConfigureAwait(false);
            return (FromReply(reply, id), null, false);
        }

        if (exited)
        {
            await runtime.FlushOutputWrittenAsync().ConfigureAwait(false);
            var code = runtime.Exited.Result;
            var outOfMemory = memory.LimitReached;
            var message = $"RequestId: {id} Error: Runtime exited with error: {RuntimeInstance.ExitDescription(code)}";
            var errorType = outOfMemory ? "Runtime.OutOfMemory" : "Runtime.ExitError";
            LogRuntimeExited(logger, id, code);
            sink.WriteLine(message, id);
            sink.WriteLine(errorType, id);
            await supervisor.ResetAsync(outOfMemory ? "out of memory" : "runtime exited", runtime).ConfigureAwait(false);
            return (Failed(new RuntimeFailure(errorType, message), id), null, outOfMemory);
        }

        // Lambda Managed Instances: the timeout fails this invocation only; the runtime is neither interrupted nor replaced.
        var seconds = options.TimeoutSeconds.ToString("0.00", CultureInfo.InvariantCulture);
        sink.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {id} Task timed out after {seconds} seconds", id);
        ShimMetrics.Timeouts.Inc();
        return (Failed(new RuntimeFailure("Sandbox.Timedout", $"RequestId: {id} Error: Task timed out after {seconds} seconds"), id), active, false);
    }

    /// <summary>What is left of the function timeout since <paramref name="started"/> (never negative).</summary>
    private TimeSpan Remaining(long started)
    {
        var remaining = options.Timeout - Stopwatch.GetElapsedTime(started);
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    private InvocationResult FromReply(RuntimeReply reply, string id)
    {
        switch (reply.Kind)
        {
            case ReplyKind.Response:
                return Result(id, InvocationOutcome.Success, reply.Body, null, null);
            case ReplyKind.TooLarge:
                var message = $"Response payload size exceeded maximum allowed payload size ({(reply.Streamed ? StreamingResponse.StreamLimit : options.MaxResponseBytes)} bytes).";
                sink.WriteLine($"RequestId: {id} Error: {message}");
                return Failed(new RuntimeFailure("Function.ResponseSizeTooLarge", message), id);
            default:
                // Lambda reports every error a runtime posts to /error as "Unhandled": the Runtime API carries no
                // handled/unhandled signal (aws-lambda-ric posts without Lambda-Runtime-Function-Error-Type), and
                // "Handled" belonged to the retired context.fail of Node.js 0.10.
                var errorType = ErrorTypeFromBody(reply.Body) ?? reply.ErrorTypeHeader ?? "Unknown";
                return Result(id, InvocationOutcome.FunctionError, ErrorDocument(reply.Body, errorType), "Unhandled", errorType);
        }
    }

    private static InvocationResult Failed(RuntimeFailure failure, string id) => Result(
        id,
        InvocationOutcome.FunctionError,
        failure.Payload ?? ShimJson.Object(new Dictionary<string, string>
        {
            ["errorType"] = failure.ErrorType,
            ["errorMessage"] = failure.ErrorMessage,
        }),
        "Unhandled",
        failure.ErrorType);

    private static InvocationResult Result(string id, InvocationOutcome outcome, byte[] payload, string? functionError, string? errorType) => new()
    {
        RequestId = id,
        Outcome = outcome,
        Payload = payload,
        FunctionError = functionError,
        ErrorType = errorType,
        ExecutedVersion = "",
    };

    /// <summary>The error document: the runtime's body when it is a JSON object, else one built around the text.</summary>
    private static byte[] ErrorDocument(byte[] body, string errorType)
    {
        if (ErrorTypeFromBody(body) is not null || IsJsonObject(body))
        {
            return body;
        }

        return ShimJson.Object(new Dictionary<string, string>
        {
            ["errorType"] = errorType,
            ["errorMessage"] = Encoding.UTF8.GetString(body),
        });
    }

    internal static string? ErrorTypeFromBody(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("errorType", out var type) && type.ValueKind == JsonValueKind.String
                ? type.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsJsonObject(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void Record(InvocationResult result, double durationMs, double? initMs)
    {
        ShimMetrics.Invocations.WithLabels(result.Outcome.ToString()).Inc();
        if (result.ErrorType is { } type)
        {
            ShimMetrics.Errors.WithLabels(type).Inc();
        }

        ShimMetrics.Duration.Observe(durationMs / 1000);
        if (initMs is { } init)
        {
            ShimMetrics.ColdStarts.Inc();
            ShimMetrics.InitDuration.Observe(init / 1000);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Runtime exited during invocation, requestId={RequestId} exitCode={ExitCode}")]
    private static partial void LogRuntimeExited(ILogger logger, string requestId, int exitCode);
}

/// <summary>
/// A concurrent invocation's result; <paramref name="Abandoned"/> when it timed out and the runtime may still be running it
/// (on <paramref name="Runtime"/>).
/// </summary>
public sealed record ConcurrentRun(InvocationResult Result, ActiveInvocation? Abandoned, RuntimeInstance? Runtime);
