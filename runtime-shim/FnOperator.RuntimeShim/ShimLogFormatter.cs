using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The shim's own log lines, compact so they read well next to the function's output:
/// <c>[shim] Reset runtime, reason=timeout</c>, <c>[shim] warning: …</c>, <c>[shim] error: … (IOException: …)</c>.
/// No category, event id or timestamp: local mode and the pod's log already say which function and when.
/// </summary>
public sealed class ShimLogFormatter() : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "shim";
    public const string Prefix = "[shim] ";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (string.IsNullOrEmpty(message) && logEntry.Exception is null)
        {
            return;
        }

        textWriter.Write(Prefix);
        textWriter.Write(logEntry.LogLevel switch
        {
            LogLevel.Warning => "warning: ",
            LogLevel.Error or LogLevel.Critical => "error: ",
            LogLevel.Debug or LogLevel.Trace => "debug: ",
            _ => "",
        });
        textWriter.Write(message.ReplaceLineEndings(" "));
        if (logEntry.Exception is { } e)
        {
            textWriter.Write($" ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")})");
        }

        textWriter.Write('\n');
    }
}
