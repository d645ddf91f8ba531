using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace FnOperator.DotnetBootstrap;

/// <summary>What an invocation's ILambdaContext answers, whatever assembly declares the interface.</summary>
public sealed class InvocationContext(NextInvocation next, LambdaLog log)
{
    public string AwsRequestId => next.RequestId;

    public string InvokedFunctionArn => next.InvokedFunctionArn;

    public string? TraceId => next.TraceId;

    public LambdaLog Log => log;

    public TimeSpan RemainingTime => TimeSpan.FromMilliseconds(Math.Max(0, next.DeadlineMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));

    /// <summary>The value of a context member (property getter) by name; null when this runtime does not know it.</summary>
    public object? Member(string name) => name switch
    {
        "AwsRequestId" => AwsRequestId,
        "InvokedFunctionArn" => InvokedFunctionArn,
        "FunctionName" => Environment.GetEnvironmentVariable("AWS_LAMBDA_FUNCTION_NAME"),
        "FunctionVersion" => Environment.GetEnvironmentVariable("AWS_LAMBDA_FUNCTION_VERSION"),
        "LogGroupName" => Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_GROUP_NAME"),
        "LogStreamName" => Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_STREAM_NAME"),
        "MemoryLimitInMB" => int.TryParse(Environment.GetEnvironmentVariable("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), CultureInfo.InvariantCulture, out var mb) ? mb : 128,
        "RemainingTime" => RemainingTime,
        "TraceId" => TraceId,
        _ => null,
    };
}

/// <summary>
/// Implements the function's own ILambdaContext / ILambdaLogger interfaces (Amazon.Lambda.Core from its deployment
/// package, or any interface with the same member names) over an <see cref="InvocationContext"/>. DispatchProxy needs
/// an unsealed public class with a parameterless constructor, hence not sealed.
/// </summary>
public class ContextProxy : DispatchProxy
{
    private InvocationContext? context;
    private bool logger;

    public static object Create(Type interfaceType, InvocationContext context, bool logger = false)
    {
        var proxy = DispatchProxy.Create(interfaceType, typeof(ContextProxy));
        var self = (ContextProxy)proxy;
        self.context = context;
        self.logger = logger;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        var returnType = targetMethod.ReturnType;
        if (logger)
        {
            Log(targetMethod.Name, args ?? []);
            return null;
        }

        var name = targetMethod.Name.StartsWith("get_", StringComparison.Ordinal) ? targetMethod.Name[4..] : targetMethod.Name;
        if (name == "Logger" && returnType.IsInterface)
        {
            return Create(returnType, context!, logger: true);
        }

        var value = context!.Member(name);
        if (value is not null && returnType.IsInstanceOfType(value))
        {
            return value;
        }

        return returnType.IsValueType && returnType != typeof(void) ? Activator.CreateInstance(returnType) : null;
    }

    /// <summary>Log/LogLine(message), Log(level, message[, args]), LogInformation(message[, args]) and the other LogX methods.</summary>
    private void Log(string method, object?[] args)
    {
        var log = context!.Log;
        if (method is "Log" or "LogLine" && args.Length == 1)
        {
            log.Write(LogLevel.Information, args[0]?.ToString());
            return;
        }

        LogLevel level;
        var rest = args.AsSpan();
        if (method == "Log")
        {
            level = LambdaLog.ParseLevel(args.ElementAtOrDefault(0));
            rest = rest[1..];
        }
        else
        {
            level = LambdaLog.ParseLevel(method["Log".Length..]);
        }

        var exception = rest.Length > 0 && rest[0] is Exception e ? e : null;
        if (exception is not null)
        {
            rest = rest[1..];
        }

        var template = rest.Length > 0 ? rest[0]?.ToString() ?? "" : "";
        var values = rest.Length > 1 && rest[1] is object?[] array ? array : [];
        var message = Format(template, values) + (exception is null ? "" : Environment.NewLine + exception);
        log.Write(level, message);
    }

    /// <summary>Fills `{name}` (or `{0}`) placeholders in order, as a message template does.</summary>
    private static string Format(string template, object?[] values)
    {
        var index = 0;
        return Regex.Replace(template, @"\{[^{}]+\}", m => index < values.Length ? Convert.ToString(values[index++], CultureInfo.InvariantCulture) ?? "" : m.Value);
    }
}
