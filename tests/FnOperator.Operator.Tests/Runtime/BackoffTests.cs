using FnOperator.Contracts;

namespace FnOperator.Operator.Tests.Runtime;

/// <summary>The one backoff helper shared by the informer, the work queue, the gateway and the runtime-shim.</summary>
public sealed class BackoffTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 100)]
    [InlineData(2, 200)]
    [InlineData(5, 1600)]
    [InlineData(9, 5000)]
    [InlineData(1000, 5000)]
    public void Exponential_doubles_from_the_initial_delay_up_to_the_cap(int attempt, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Backoff.Exponential(attempt, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5)));

    [Fact]
    public void Jittered_stays_between_half_and_all_of_the_exponential_delay()
    {
        var random = new Random(42);
        var delays = Enumerable.Range(0, 1000).Select(_ => Backoff.Jittered(4, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), random: random)).ToList();

        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromMilliseconds(400), TimeSpan.FromMilliseconds(800)));
        Assert.True(delays.Distinct().Count() > 100, "delays are spread, not synchronised");
    }
}
