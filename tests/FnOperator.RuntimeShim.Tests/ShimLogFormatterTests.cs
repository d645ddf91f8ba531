using FnOperator.RuntimeShim;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>The shim's own log lines read "[shim] …" next to the function's output, with the level only when it matters.</summary>
public sealed class ShimLogFormatterTests
{
    [Theory]
    [InlineData(LogLevel.Information, "Reset runtime, reason=timeout", null, "[shim] Reset runtime, reason=timeout")]
    [InlineData(LogLevel.Warning, "Parent process 7 (FNOP_PARENT_PID) is gone; stopping", null, "[shim] warning: Parent process 7 (FNOP_PARENT_PID) is gone; stopping")]
    [InlineData(LogLevel.Error, "Failed to post result", "connection refused", "[shim] error: Failed to post result (IOException: connection refused)")]
    [InlineData(LogLevel.Debug, "two\nlines", null, "[shim] debug: two lines")]
    public void Line_is_compact_with_the_shim_prefix(LogLevel level, string message, string? error, string expected)
    {
        using var writer = new StringWriter();
        var entry = new LogEntry<string>(level, "FnOperator.RuntimeShim.RuntimeSupervisor", new EventId(401387548), message,
            error is null ? null : new IOException(error), (state, _) => state);

        new ShimLogFormatter().Write(entry, null, writer);

        Assert.Equal(expected + "\n", writer.ToString());
    }
}
