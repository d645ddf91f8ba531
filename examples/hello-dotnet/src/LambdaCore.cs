// Look-alikes of the two Amazon.Lambda.Core interfaces this function uses (same namespace, names and members), for
// machines whose NuGet source lacks Amazon.Lambda.Core. FnOperator's .NET runtime implements whatever interface
// named Amazon.Lambda.Core.ILambdaContext the function brings. Build with -p:UseAmazonLambdaCore=true to use the
// real package instead (required on AWS Lambda itself).
namespace Amazon.Lambda.Core;

public interface ILambdaLogger
{
    void Log(string message);

    void LogLine(string message);
}

public interface ILambdaContext
{
    string AwsRequestId { get; }

    string FunctionName { get; }

    string InvokedFunctionArn { get; }

    ILambdaLogger Logger { get; }

    int MemoryLimitInMB { get; }

    TimeSpan RemainingTime { get; }
}
