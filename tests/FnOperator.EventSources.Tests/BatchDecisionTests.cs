using System.Text;
using FnOperator.Contracts;

namespace FnOperator.EventSources.Tests;

public sealed class BatchDecisionTests
{
    private static SourceRecord R(int i) => new() { Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture), Body = Encoding.UTF8.GetBytes("x"), Timestamp = DateTimeOffset.UnixEpoch.AddSeconds(i), Sequence = (ulong)i };

    private static List<SourceRecord> Rs(int n) => [.. Enumerable.Range(1, n).Select(R)];

    [Theory]
    [InlineData(0, 10, 0, 0, false)]
    [InlineData(10, 10, 0, 5, true)]
    [InlineData(3, 10, 0, 0, true)]
    [InlineData(3, 10, 2, 5, false)]
    [InlineData(3, 10, 5, 5, true)]
    public void Batch_flushes_on_size_or_window(int count, int size, int elapsed, int window, bool flush) =>
        Assert.Equal(flush, Batching.ShouldFlush(count, size, TimeSpan.FromSeconds(elapsed), TimeSpan.FromSeconds(window)));

    [Fact]
    public void Batch_stops_before_six_megabytes()
    {
        Assert.True(Batching.Fits(0, 7_000_000, 0)); // a first record always goes
        Assert.True(Batching.Fits(5_000_000, 1_000_000, 3));
        Assert.False(Batching.Fits(5_500_000, 1_000_000, 3));
    }

    [Theory]
    [InlineData("", false, true, 0)]
    [InlineData("null", false, true, 0)]
    [InlineData("""{"batchItemFailures":[]}""", false, true, 0)]
    [InlineData("""{"batchItemFailures":null}""", false, true, 0)]
    [InlineData("""{"batchItemFailures":[{"itemIdentifier":"2"}]}""", false, false, 1)]
    [InlineData("""{"batchItemFailures":[{"itemIdentifier":""}]}""", true, false, 0)]
    [InlineData("""{"batchItemFailures":[{"itemIdentifier":null}]}""", true, false, 0)]
    [InlineData("""{"batchItemFailures":[{"id":"2"}]}""", true, false, 0)]
    [InlineData("""{"batchItemFailures":[{"itemIdentifier":"99"}]}""", true, false, 0)]
    [InlineData("not json", true, false, 0)]
    public void Batch_item_failures_follow_lambdas_rules(string response, bool allFailed, bool succeeded, int failedIds)
    {
        var result = BatchResult.From(new InvokeOutcome(200, null, null, Encoding.UTF8.GetBytes(response)), Rs(3), reportBatchItemFailures: true);
        Assert.Equal(allFailed, result.AllFailed);
        Assert.Equal(succeeded, result.Succeeded);
        Assert.Equal(failedIds, result.FailedIds.Count);
    }

    [Fact]
    public void Function_error_and_throttle_fail_the_whole_batch()
    {
        Assert.True(BatchResult.From(new InvokeOutcome(200, "Unhandled", null, []), Rs(2), true).AllFailed);
        var throttled = BatchResult.From(new InvokeOutcome(429, null, "TooManyRequestsException", []), Rs(2), true);
        Assert.True(throttled.AllFailed && throttled.Throttled);
        Assert.True(BatchResult.From(new InvokeOutcome(200, null, null, "{\"batchItemFailures\":[{\"itemIdentifier\":\"1\"}]}"u8.ToArray()), Rs(2), false).Succeeded);
    }

    [Fact]
    public void Bisect_splits_a_failed_batch_in_halves_without_counting_a_retry()
    {
        var step = Assert.IsType<StreamStep.Split>(StreamDecisions.Decide(new Segment(Rs(5)), BatchResult.Failed("x"), bisect: true, maximumRetryAttempts: 0));
        Assert.Equal(["1", "2"], step.First.Records.Select(r => r.Id));
        Assert.Equal(["3", "4", "5"], step.Second.Records.Select(r => r.Id));
        Assert.Equal(0, step.First.Attempts);
    }

    [Fact]
    public void Single_record_out_of_retries_is_discarded()
    {
        var one = new Segment(Rs(1), Attempts: 2);
        var step = Assert.IsType<StreamStep.Discard>(StreamDecisions.Decide(one, BatchResult.Failed("x"), bisect: true, maximumRetryAttempts: 2));
        Assert.Equal(StreamDecisions.RetryAttemptsExhausted, step.Condition);
        Assert.IsType<StreamStep.Continue>(StreamDecisions.Decide(one, BatchResult.Failed("x"), bisect: true, maximumRetryAttempts: -1));
    }

    [Fact]
    public void Reported_failure_checkpoints_before_the_lowest_failed_sequence()
    {
        var result = new BatchResult(false, new HashSet<string> { "4", "3" });
        var step = Assert.IsType<StreamStep.Continue>(StreamDecisions.Decide(new Segment(Rs(5)), result, bisect: false, maximumRetryAttempts: 3));
        Assert.Equal(2, step.Succeeded);
        Assert.Equal(["3", "4", "5"], step.Rest.Records.Select(r => r.Id));
        Assert.Equal(1, step.Rest.Attempts);
    }

    [Fact]
    public void Throttles_do_not_count_as_retries()
    {
        var step = Assert.IsType<StreamStep.Continue>(StreamDecisions.Decide(new Segment(Rs(2), 1), BatchResult.Failed("429", throttled: true), true, 1));
        Assert.Equal(1, step.Rest.Attempts);
        Assert.Equal(2, step.Rest.Records.Count);
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(60, 3)]
    [InlineData(1000, 0)]
    public void Expired_counts_leading_records_older_than_the_maximum_age(int maxAge, int expired) =>
        Assert.Equal(expired, StreamDecisions.Expired(Rs(5), maxAge, DateTimeOffset.UnixEpoch.AddSeconds(64)));
}
