using System.Globalization;
using System.Text.Json.Nodes;
using FnOperator.EventSources.Schedules;
using Microsoft.Extensions.Time.Testing;

namespace FnOperator.EventSources.Tests;

public sealed class ScheduleTests
{
    private static readonly DateTimeOffset Anchor = DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("cron(15 10 * * ? *)", null, "2026-01-01T00:00:00Z", "2026-01-01T10:15:00Z")]
    [InlineData("cron(0 18 ? * MON-FRI *)", null, "2026-01-02T18:00:00Z", "2026-01-05T18:00:00Z")]
    [InlineData("cron(0/10 * ? * MON-FRI *)", null, "2026-01-02T23:55:00Z", "2026-01-05T00:00:00Z")]
    [InlineData("cron(0 9 ? * 2#1 *)", null, "2026-01-05T09:00:00Z", "2026-02-02T09:00:00Z")] // first Monday (1 = SUN)
    [InlineData("cron(0 0 L * ? *)", null, "2026-02-01T00:00:00Z", "2026-02-28T00:00:00Z")]
    [InlineData("cron(0 0 15W * ? *)", null, "2026-02-01T00:00:00Z", "2026-02-16T00:00:00Z")] // the 15th is a Sunday
    [InlineData("cron(0 0 1W * ? *)", null, "2026-07-31T00:00:00Z", "2026-08-03T00:00:00Z")] // the 1st is a Saturday: not back into July
    [InlineData("cron(0 12 ? * 6L *)", null, "2026-01-01T00:00:00Z", "2026-01-30T12:00:00Z")] // last Friday
    [InlineData("cron(0 0 ? * L *)", null, "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z")] // L alone = Saturday
    [InlineData("cron(0 0 1 JAN ? 2027)", null, "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z")]
    [InlineData("cron(0 8 * * ? *)", "Europe/Berlin", "2026-01-01T00:00:00Z", "2026-01-01T07:00:00Z")]
    // DST: 02:30 does not exist on 2026-03-29 in Berlin (skipped); on 2026-10-25 it happens twice (fired once, the first)
    [InlineData("cron(30 2 * * ? *)", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-30T00:30:00Z")]
    [InlineData("cron(30 2 * * ? *)", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z")]
    [InlineData("cron(30 2 * * ? *)", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z")]
    [InlineData("rate(5 minutes)", null, "2026-01-01T00:07:00Z", "2026-01-01T00:10:00Z")]
    [InlineData("rate(1 day)", null, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")]
    [InlineData("rate(2 hours)", null, "2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z")]
    public void Next_tick_follows_eventbridge(string expression, string? zone, string after, string expected)
    {
        var next = Schedule.Parse(expression, zone, Anchor).Next(DateTimeOffset.Parse(after, CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture), next);
    }

    [Theory]
    [InlineData("cron(0 0 * * * *)")] // both day fields set
    [InlineData("cron(0 0 ? * ? *)")]
    [InlineData("cron(0 0 ? * 1#1,2#2 *)")]
    [InlineData("cron(0 0 1 1 ? 1900)")]
    [InlineData("cron(60 0 * * ? *)")]
    [InlineData("cron(0 0 * * ?)")]
    [InlineData("rate(1 minutes)")]
    [InlineData("rate(5 minute)")]
    [InlineData("rate(0 minutes)")]
    [InlineData("every 5 minutes")]
    public void Invalid_expressions_are_rejected(string expression) =>
        Assert.Throws<FormatException>(() => Schedule.Parse(expression, null, Anchor));

    [Fact]
    public void Unknown_time_zone_is_rejected() => Assert.Throws<FormatException>(() => Schedule.Parse("rate(1 hour)", "Mars/Olympus", Anchor));

    [Fact]
    public void Scheduled_event_has_the_eventbridge_shape()
    {
        var e = JsonNode.Parse(ScheduleRunner.ScheduledEvent(Target(), Anchor))!;
        Assert.Equal("Scheduled Event", (string?)e["detail-type"]);
        Assert.Equal("aws.events", (string?)e["source"]);
        Assert.Equal("0", (string?)e["version"]);
        Assert.Equal("2026-01-01T00:00:00Z", (string?)e["time"]);
        Assert.True(Guid.TryParse((string?)e["id"], out _));
        Assert.Equal("arn:fnoperator:events:local:default:rule/tick", (string?)e["resources"]![0]);
        Assert.Equal("{}", e["detail"]!.ToJsonString());
        Assert.Equal("local", (string?)e["region"]);
    }

    [Fact]
    public async Task Each_tick_fires_once_across_failover_and_a_tick_missed_without_leader_fires_late_once()
    {
        var clock = new FakeTimeProvider(Anchor.AddSeconds(30));
        var store = new MemoryTickStore();
        var function = new TestFunction();
        var schedule = Schedule.Parse("rate(1 minute)", null, Anchor);

        var leaderA = new CancellationTokenSource();
        var runA = new ScheduleRunner(schedule, Target(), store, function, NullPollerObserver.Instance, clock).RunAsync(leaderA.Token);
        await AdvanceUntilAsync(clock, () => function.Batches.Count == 2, "two ticks by leader A");
        await leaderA.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runA);
        Assert.Equal(Anchor.AddMinutes(2), store.Last);

        // No leader for 3½ minutes: ticks 3, 4 and 5 are missed; the new leader fires only the latest (5) late, then 6.
        clock.Advance(TimeSpan.FromMinutes(3.5));
        using var leaderB = new CancellationTokenSource();
        _ = new ScheduleRunner(schedule, Target(), store, function, NullPollerObserver.Instance, clock).RunAsync(leaderB.Token);
        await Eventually.TrueAsync(() => function.Batches.Count == 3, "the missed tick fired late");
        await AdvanceUntilAsync(clock, () => function.Batches.Count == 4, "the next tick");
        var times = function.Batches.Select(b => b.RootElement.GetProperty("time").GetString()).ToList();
        Assert.Equal(["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:05:00Z", "2026-01-01T00:06:00Z"], times);
        leaderB.Cancel();
    }

    [Fact]
    public async Task Failed_tick_is_retried_then_sent_to_the_failure_function_with_the_fixed_input()
    {
        var clock = new FakeTimeProvider(Anchor.AddSeconds(30));
        var function = new TestFunction { Handler = _ => TestFunction.Error() };
        var target = Target() with { Input = JsonNode.Parse("""{"job":"nightly"}"""), MaximumRetryAttempts = 2, FailureFunction = "dlq" };
        using var cts = new CancellationTokenSource();
        _ = new ScheduleRunner(Schedule.Parse("rate(1 hour)", null, Anchor), target, new MemoryTickStore(), function, NullPollerObserver.Instance, clock).RunAsync(cts.Token);
        await AdvanceUntilAsync(clock, () => !function.AsyncInvokes.IsEmpty, "the failure destination", step: TimeSpan.FromSeconds(10));
        Assert.Equal(3, function.Batches.Count); // first attempt + 2 retries
        Assert.All(function.Batches, b => Assert.Equal("nightly", b.RootElement.GetProperty("job").GetString()));
        var (name, payload) = Assert.Single(function.AsyncInvokes);
        Assert.Equal("default/dlq", name);
        Assert.Equal("""{"job":"nightly"}""", System.Text.Encoding.UTF8.GetString(payload));
        cts.Cancel();
    }

    private static ScheduleTarget Target() => new("default/f", null, null, "default", "tick", -1, null);

    private static async Task AdvanceUntilAsync(FakeTimeProvider clock, Func<bool> done, string what, TimeSpan? step = null)
    {
        for (var i = 0; i < 10_000 && !done(); i++)
        {
            clock.Advance(step ?? TimeSpan.FromSeconds(5));
            await Task.Delay(5);
        }

        Assert.True(done(), what);
    }

    private sealed class MemoryTickStore : ITickStore
    {
        public DateTimeOffset? Last { get; private set; }

        public Task<DateTimeOffset?> LoadAsync(CancellationToken cancellationToken) => Task.FromResult(Last);

        public Task SaveAsync(DateTimeOffset tick, CancellationToken cancellationToken)
        {
            Last = tick;
            return Task.CompletedTask;
        }
    }
}
