using Amazon.Lambda.Core;
using Amazon.Lambda.RuntimeSupport;
using Amazon.Lambda.Serialization.SystemTextJson;

// Executable-assembly style: Main hands the handler to Amazon.Lambda.RuntimeSupport, which talks to the Runtime API
// at $AWS_LAMBDA_RUNTIME_API (the runtime-shim locally or in a pod, Lambda itself in AWS).
var handler = (Greeting input, ILambdaContext context) =>
{
    context.Logger.LogInformation($"greeting {input.Name} in request {context.AwsRequestId}");
    if (input.Fail is { Length: > 0 } reason)
    {
        throw new InvalidOperationException($"asked to fail: {reason}");
    }

    return new Reply($"Hello from .NET, {input.Name ?? "world"}!", context.AwsRequestId);
};

await LambdaBootstrapBuilder.Create(handler, new DefaultLambdaJsonSerializer())
    .Build()
    .RunAsync();

public sealed record Greeting(string? Name, string? Fail);

public sealed record Reply(string Message, string RequestId);
