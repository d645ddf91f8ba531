using System.Collections;
using Microsoft.Extensions.Logging.Abstractions;

namespace FnOperator.RuntimeShim;

/// <summary>
/// A shim hosted inside another process (local mode's in-process instances, <see cref="ShimHost.Create"/>): what the shim
/// process would take from its own process is given instead. The runtime's environment is built from
/// <see cref="Environment"/> (the variables local mode computes for the instance, as it would start a shim process with
/// them), never from the host's; the function's log stream (runtime output, START/END/REPORT) goes to
/// <see cref="Output"/> line by line, the shim's own log lines (<c>[shim] …</c>, as <see cref="ShimLogFormatter"/> writes
/// them) to <see cref="Log"/>. Process-level parts are off: no parent watch (FNOP_PARENT_PID), no forced GC when idle
/// (<see cref="IdleTrim"/>), no /metrics (its counters would be every instance's and its process metrics the host's),
/// each runtime under a keeper of its own when the environment names one (<see cref="SandboxSettings.KeeperVariable"/>:
/// the keeper is the runtime's subreaper and memory is the keeper's descendants, never the host's cgroup), else memory
/// from the runtime's process tree and the host's re-parented orphans (docs/local-mode.md "In-process instances").
/// </summary>
public sealed record ShimHosting
{
    /// <summary>The instance's environment (what a shim process would have as its environment variables).</summary>
    public required IDictionary Environment { get; init; }

    /// <summary>The function's log stream; written one line per <c>WriteLine</c>.</summary>
    public required TextWriter Output { get; init; }

    /// <summary>Receives each of the shim's own log lines, without a line break.</summary>
    public required Action<string> Log { get; init; }
}

/// <summary>The shim's log lines through <see cref="ShimLogFormatter"/> to a line callback (in-process hosting).</summary>
internal sealed class LineLoggerProvider(Action<string> write) : ILoggerProvider
{
    private readonly ShimLogFormatter _formatter = new();

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class LineLogger(LineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            using var text = new StringWriter();
            provider._formatter.Write(new Microsoft.Extensions.Logging.Abstractions.LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), null, text);
            var line = text.ToString().TrimEnd('\n');
            if (line.Length > 0)
            {
                provider.Write(line);
            }
        }
    }

    private void Write(string line) => write(line);
}
