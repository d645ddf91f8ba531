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

    public Func<JsonDocument, InvokeOutcome> Handler { get; set; } = _ => Ok();

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
        Batches.Enqueue(doc);
        return Task.FromResult(Handler(doc));
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
}
