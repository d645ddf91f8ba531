using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.EventSources.Tests;

/// <summary>
/// The function side of a poller test (the seam the pollers invoke through; the gateway has its own tests): records every
/// batch it is invoked with and answers with what <see cref="Handler"/> returns.
/// </summary>
public sealed class TestFunction : IFunctionInvoker
{
    public ConcurrentQueue<JsonDocument> Batches { get; } = new();

    public ConcurrentQueue<(string Function, byte[] Payload)> AsyncInvokes { get; } = new();

    /// <summary>The byte size of every synchronous invocation's payload, in invocation order.</summary>
    public ConcurrentQueue<int> PayloadSizes { get; } = new();

    public Func<JsonDocument, InvokeOutcome> Handler { get; set; } = _ => Ok();

    /// <summary>When set, used instead of <see cref="Handler"/>: a function that takes time without holding a thread.</summary>
    public Func<JsonDocument, Task<InvokeOutcome>>? AsyncHandler { get; set; }

    public static InvokeOutcome Ok(string body = "null") => new(200, null, null, Encoding.UTF8.GetBytes(body));

    public static InvokeOutcome Error() => new(200, "Unhandled", null, Encoding.UTF8.GetBytes("""{"errorMessage":"boom","errorType":"Error"}"""));

    public static InvokeOutcome Failures(params string[] ids) =>
        Ok(JsonSerializer.Serialize(new { batchItemFailures = ids.Select(i => new { itemIdentifier = i }) }));

    /// <summary>The record payloads (queue body or decoded stream data) of every batch, in invocation order.</summary>
    public List<List<string>> Bodies() => [.. Batches.Select(Bodies)];

    public static List<string> Bodies(JsonDocument batch) =>
        [.. batch.RootElement.GetProperty("Records").EnumerateArray().Select(r => r.TryGetProperty("body", out var b)
            ? b.GetString()!
            : Encoding.UTF8.GetString(Convert.FromBase64String(r.GetProperty("kinesis").GetProperty("data").GetString()!)))];

    public Task<InvokeOutcome> InvokeAsync(string functionName, string? qualifier, ReadOnlyMemory<byte> payload, bool asynchronous, CancellationToken cancellationToken)
    {
        if (asynchronous)
        {
            AsyncInvokes.Enqueue((functionName, payload.ToArray()));
            return Task.FromResult(new InvokeOutcome(202, null, null, []));
        }

        var doc = JsonDocument.Parse(payload);
        PayloadSizes.Enqueue(payload.Length);
        Batches.Enqueue(doc);
        return AsyncHandler is { } slow ? slow(doc) : Task.FromResult(Handler(doc));
    }
}

public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds (generous timeout for a loaded machine).</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Polls an asynchronous <paramref name="condition"/> (a server query) without blocking a thread on it.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>Pollers a test started, so a test can stop one and know it has returned (nothing polls after that).</summary>
public static class Pollers
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<CancellationTokenSource, Task> Running = new();

    public static CancellationTokenSource Start(Poller poller)
    {
        var cts = new CancellationTokenSource();
        Running.Add(cts, Task.Run(() => poller.RunAsync(cts.Token)));
        return cts;
    }

    /// <summary>Cancels the poller and waits until it returned (its source disposed, its batch abandoned).</summary>
    public static async Task StopAsync(CancellationTokenSource cts)
    {
        await cts.CancelAsync();
        if (Running.TryGetValue(cts, out var task))
        {
            await task.WaitAsync(TimeSpan.FromSeconds(60));
        }
    }
}

/// <summary>The system clock moved forward by <paramref name="offset"/> for "now" only (timers stay real): records look older.</summary>
public sealed class ShiftedClock(TimeSpan offset) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + offset;
}

/// <summary>Counts the records of batches a poller finished (acknowledged or released, then reported) — to stop a poller only after its acks.</summary>
public sealed class CountingObserver : IPollerObserver
{
    private int records;
    private int connects;

    public int Records => Volatile.Read(ref records);

    public int Connects => Volatile.Read(ref connects);

    public void Connected(SourceIdentity source) => Interlocked.Increment(ref connects);

    public void Processed(string result, int records, DateTimeOffset at) => Interlocked.Add(ref this.records, records);

    public void SourceFailed(SourceException error)
    {
    }

    public void Discarded(int records, string condition)
    {
    }
}
