// Look-alikes of Amazon.Lambda.Core's types (same namespace, names and members, as a deployment package carries the
// real assembly). The default interface methods mirror Amazon.Lambda.Core 2.x.
namespace Amazon.Lambda.Core;

public enum LogLevel
{
    Trace = 0,
    Debug = 1,
    Information = 2,
    Warning = 3,
    Error = 4,
    Critical = 5,
}

public interface ILambdaLogger
{
    void Log(string message);

    void LogLine(string message);

    void Log(string level, string message) => LogLine(message);

    void Log(LogLevel level, string message) => Log(level.ToString(), message);

    void LogInformation(string message) => Log(LogLevel.Information.ToString(), message);

    void LogWarning(string message) => Log(LogLevel.Warning.ToString(), message);

    void LogError(string message) => Log(LogLevel.Error.ToString(), message);

    void LogDebug(string message) => Log(LogLevel.Debug.ToString(), message);
}

public interface IClientContext
{
    IDictionary<string, string> Environment { get; }
}

public interface ICognitoIdentity
{
    string IdentityId { get; }

    string IdentityPoolId { get; }
}

public interface ILambdaContext
{
    string AwsRequestId { get; }

    IClientContext ClientContext { get; }

    string FunctionName { get; }

    string FunctionVersion { get; }

    ICognitoIdentity Identity { get; }

    string InvokedFunctionArn { get; }

    ILambdaLogger Logger { get; }

    string LogGroupName { get; }

    string LogStreamName { get; }

    int MemoryLimitInMB { get; }

    TimeSpan RemainingTime { get; }
}

public interface ILambdaSerializer
{
    T Deserialize<T>(Stream requestStream);

    void Serialize<T>(T response, Stream responseStream);
}

[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Method)]
public sealed class LambdaSerializerAttribute(Type serializerType) : Attribute
{
    public Type SerializerType { get; } = serializerType;
}
