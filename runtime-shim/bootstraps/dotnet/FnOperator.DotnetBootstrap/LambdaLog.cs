using System.Globalization;
using System.Text;
using System.Text.Json;

namespace FnOperator.DotnetBootstrap;

/// <summary>Log levels as Amazon.Lambda.Core names them.</summary>
public enum LogLevel
{
    Trace,
    Debug,
    Information,
    Warning,
    Error,
    Critical,
}

/// <summary>
/// The function's log, formatted as Lambda's .NET runtime does: `Console.WriteLine` and ILambdaLogger lines become
/// `yyyy-MM-ddTHH:mm:ss.fffZ\trequestId\tlevel\tmessage` (levels trce, dbug, info, warn, fail, crit; stderr lines
/// are `fail`), or with AWS_LAMBDA_LOG_FORMAT=JSON one object {timestamp, level, requestId, message} a line.
/// AWS_LAMBDA_LOG_LEVEL (TRACE..FATAL) or AWS_LAMBDA_HANDLER_LOG_LEVEL (Trace..Critical) drops lower levels
/// (default Information).
/// </summary>
public sealed class LambdaLog
{
    private readonly TextWriter output;
    private readonly bool json;
    private readonly LogLevel minimum;

    private LambdaLog(TextWriter output, bool json, LogLevel minimum)
    {
        this.output = output;
        this.json = json;
        this.minimum = minimum;
    }

    public string RequestId { get; set; } = "";

    /// <summary>Replaces Console.Out and Console.Error with writers whose lines are formatted.</summary>
    public static LambdaLog Install()
    {
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
        var log = new LambdaLog(TextWriter.Synchronized(stdout), IsJson(), MinimumLevel());
        Console.SetOut(new LineWriter(log, LogLevel.Information));
        Console.SetError(new LineWriter(log, LogLevel.Error));
        return log;
    }

    public void Write(LogLevel level, string? message)
    {
        if (level < minimum)
        {
            return;
        }

        var timestamp = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        output.WriteLine(json
            ? JsonSerializer.Serialize(new Dictionary<string, string?>
            {
                ["timestamp"] = timestamp,
                ["level"] = level.ToString(),
                ["requestId"] = RequestId,
                ["message"] = message,
            })
            : $"{timestamp}\t{RequestId}\t{Label(level)}\t{message}");
    }

    public void WriteError(ErrorDocument error)
    {
        if (json)
        {
            Write(LogLevel.Error, error.ToJsonString());
            return;
        }

        Write(LogLevel.Error, $"{error.ErrorType}: {error.ErrorMessage}");
        foreach (var frame in error.StackTrace ?? [])
        {
            output.WriteLine("   " + frame);
        }
    }

    /// <summary>A level given as a LogLevel enum of any assembly, or its name (Lambda's "INFO" style too).</summary>
    public static LogLevel ParseLevel(object? level) => level?.ToString()?.ToUpperInvariant() switch
    {
        "TRACE" or "TRCE" => LogLevel.Trace,
        "DEBUG" or "DBUG" => LogLevel.Debug,
        "WARNING" or "WARN" => LogLevel.Warning,
        "ERROR" or "FAIL" => LogLevel.Error,
        "CRITICAL" or "CRIT" or "FATAL" => LogLevel.Critical,
        _ => LogLevel.Information,
    };

    private static string Label(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "info",
    };

    private static bool IsJson() => string.Equals(Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_FORMAT"), "JSON", StringComparison.OrdinalIgnoreCase);

    private static LogLevel MinimumLevel()
    {
        var level = Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_LEVEL") ?? Environment.GetEnvironmentVariable("AWS_LAMBDA_HANDLER_LOG_LEVEL");
        return string.IsNullOrEmpty(level) ? LogLevel.Information : ParseLevel(level);
    }

    /// <summary>Console.Out/Error: WriteLine is formatted, partial writes are collected until the line ends.</summary>
    private sealed class LineWriter(LambdaLog log, LogLevel level) : TextWriter
    {
        private readonly StringBuilder pending = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (pending)
            {
                if (value == '\n')
                {
                    Flush(pending.ToString().TrimEnd('\r'));
                    pending.Clear();
                }
                else
                {
                    pending.Append(value);
                }
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? "")
            {
                Write(c);
            }
        }

        public override void WriteLine(string? value) => Write((value ?? "") + "\n");

        private void Flush(string line) => log.Write(level, line);
    }
}
