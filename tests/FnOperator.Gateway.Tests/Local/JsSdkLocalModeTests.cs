using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// The AWS SDK for JavaScript v3 against local mode with real runtimes (standing in for AWSSDK.Lambda, which this
/// machine's NuGet mirror lacks).
/// </summary>
public sealed class JsSdkLocalModeTests(SdkFunctionsFixture fixture) : IClassFixture<SdkFunctionsFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private string Endpoint => fixture.Local.Endpoint;

    private static string NewMarker() => Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Sync_invoke_returns_the_payload_version_and_log_tail()
    {
        var marker = NewMarker();

        var result = Assert.Single(await JsSdk.InvokeAsync(Endpoint, new JsSdk.Call("sdk-echo", new JsonObject { ["marker"] = marker }, LogType: "Tail")));

        Assert.True((bool)result["ok"]!, result.ToJsonString());
        Assert.Equal(200, (int)result["statusCode"]!);
        Assert.Equal("$LATEST", (string?)result["executedVersion"]);
        Assert.Null(result["functionError"]);
        var payload = JsonNode.Parse((string)result["payload"]!)!;
        Assert.Equal(marker, (string?)payload["echo"]!["marker"]);
        var log = (string)result["log"]!;
        Assert.Contains($"START RequestId: {payload["requestId"]}", log, StringComparison.Ordinal);
        Assert.Contains($"event {{\"marker\":\"{marker}\"}}", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Event_invoke_returns_202_and_the_function_runs()
    {
        var marker = NewMarker();

        var result = Assert.Single(await JsSdk.InvokeAsync(Endpoint, new JsSdk.Call("sdk-echo", new JsonObject { ["marker"] = marker }, "Event")));

        Assert.True((bool)result["ok"]!, result.ToJsonString());
        Assert.Equal(202, (int)result["statusCode"]!);
        await fixture.Local.WaitForLineAsync(l => l.StartsWith("[sdk-echo] ", StringComparison.Ordinal) && l.Contains(marker, StringComparison.Ordinal), Wait);
    }

    [Fact]
    public async Task Reserved_concurrency_zero_throttles_with_429_TooManyRequestsException()
    {
        var result = Assert.Single(await JsSdk.InvokeAsync(Endpoint, new JsSdk.Call("sdk-throttled")));

        Assert.False((bool)result["ok"]!);
        Assert.Equal("TooManyRequestsException", (string?)result["errorName"]);
        Assert.Equal(429, (int)result["httpStatus"]!);
        Assert.False(string.IsNullOrEmpty((string?)result["reason"]), result.ToJsonString());
    }

    [Fact]
    public async Task Calls_beyond_reserved_concurrency_are_throttled_while_one_runs()
    {
        var calls = Enumerable.Range(0, 4).Select(_ => new JsSdk.Call("sdk-limited", new JsonObject { ["sleepMs"] = 4000 })).ToArray();

        var results = await JsSdk.InvokeAsync(Endpoint, calls);

        Assert.Contains(results, r => (bool)r["ok"]! && (int)r["statusCode"]! == 200);
        Assert.Contains(results, r => (string?)r["errorName"] == "TooManyRequestsException" && (int)r["httpStatus"]! == 429);
        Assert.All(results, r => Assert.True((bool)r["ok"]! || (string?)r["errorName"] == "TooManyRequestsException", r.ToJsonString()));
    }

    [Fact]
    public async Task Payloads_over_the_sync_and_async_limits_get_413_RequestTooLargeException()
    {
        var results = await JsSdk.InvokeAsync(
            Endpoint,
            new JsSdk.Call("sdk-echo", PayloadBytes: (6 * 1024 * 1024) + 1024),
            new JsSdk.Call("sdk-echo", InvocationType: "Event", PayloadBytes: (1024 * 1024) + 1024));

        Assert.All(results, r =>
        {
            Assert.Equal("RequestTooLargeException", (string?)r["errorName"]);
            Assert.Equal(413, (int)r["httpStatus"]!);
        });
    }

    [Fact]
    public async Task Failing_event_is_retried_twice_then_recorded_on_the_OnFailure_queue()
    {
        var marker = NewMarker();

        var accepted = Assert.Single(await JsSdk.InvokeAsync(Endpoint, new JsSdk.Call("sdk-flaky", new JsonObject { ["fail"] = "always", ["marker"] = marker }, "Event")));
        Assert.Equal(202, (int)accepted["statusCode"]!);

        var record = await fixture.ReceiveAsync(SdkFunctionsFixture.FailureQueue, m => (string?)m["requestPayload"]?["marker"] == marker, Wait);
        var context = record["requestContext"]!;
        Assert.Equal("RetriesExhausted", (string?)context["condition"]);
        Assert.Equal(3, (int)context["approximateInvokeCount"]!);
        Assert.Equal("Unhandled", (string?)record["responseContext"]?["functionError"]);
        Assert.Contains("asked to fail: always", (string?)record["responsePayload"]?["errorMessage"], StringComparison.Ordinal);
        var requestId = (string)context["requestId"]!;
        bool IsStart(string l) => l == $"[sdk-flaky] START RequestId: {requestId} Version: $LATEST";
        bool IsGaveUp(string l) => l.Contains($"Gave up async invocation namespace=default function=sdk-flaky requestId={requestId} ", StringComparison.Ordinal)
            && l.EndsWith($"; record sent to queue {SdkFunctionsFixture.FailureQueue}", StringComparison.Ordinal);

        // The record can arrive before these lines: the shims' output travels through pipes, and the gateway's log line
        // through the console logger's queue. Wait for the third START and the give-up line, then count.
        await fixture.Local.WaitForLineAsync(l => IsGaveUp(l) && fixture.Local.Lines(IsStart).Count >= 3, Wait);
        Assert.Equal(3, fixture.Local.Lines(IsStart).Count);
        Assert.Single(fixture.Local.Lines(IsGaveUp));
    }

    [Fact]
    public async Task Successful_event_sends_a_Success_record_to_the_OnSuccess_function()
    {
        var marker = NewMarker();

        var accepted = Assert.Single(await JsSdk.InvokeAsync(Endpoint, new JsSdk.Call("sdk-flaky", new JsonObject { ["marker"] = marker }, "Event")));
        Assert.Equal(202, (int)accepted["statusCode"]!);

        await fixture.Local.WaitForLineAsync(l => l == $"[sdk-recorder] record marker={marker} condition=Success attempts=1" || l.EndsWith($"INFO\trecord marker={marker} condition=Success attempts=1", StringComparison.Ordinal), Wait);
    }

    [Fact]
    public async Task Failing_event_without_retries_or_destination_lands_in_the_dead_letter_queue_once()
    {
        var marker = NewMarker();

        var accepted = Assert.Single(await JsSdk.InvokeAsync(Endpoint, new JsSdk.Call("sdk-noretry", new JsonObject { ["fail"] = "once", ["marker"] = marker }, "Event")));
        Assert.Equal(202, (int)accepted["statusCode"]!);

        var record = await fixture.ReceiveAsync("default.sdk-noretry.dlq", m => (string?)m["requestPayload"]?["marker"] == marker, Wait);
        Assert.Equal("RetriesExhausted", (string?)record["requestContext"]!["condition"]);
        Assert.Equal(1, (int)record["requestContext"]!["approximateInvokeCount"]!);
    }
}
