namespace FnOperator.Gateway.Tests.Support;

public static class TestWait
{
    /// <summary>Polls until the condition holds; fails after a generous timeout (the test machine is loaded).</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition did not hold in time.");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }
}
