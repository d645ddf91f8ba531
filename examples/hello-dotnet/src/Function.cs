using Amazon.Lambda.Core;

#if AMAZON_LAMBDA_CORE
// AWS Lambda's own .NET runtime needs the serializer named; FnOperator's uses the same System.Text.Json defaults without it.
[assembly: LambdaSerializer(typeof(Amazon.Lambda.Serialization.SystemTextJson.DefaultLambdaJsonSerializer))]
#endif

namespace HelloDotnet;

public sealed record Greeting(string? Name, string? Fail);

public sealed record Reply(string Message, string RequestId);

/// <summary>Handler `HelloDotnet::HelloDotnet.Function::Handler`. The constructor runs once per runtime (init).</summary>
public sealed class Function
{
    private readonly DateTimeOffset started = DateTimeOffset.UtcNow;

    public Reply Handler(Greeting input, ILambdaContext context)
    {
        context.Logger.LogLine($"greeting {input.Name} in request {context.AwsRequestId} (runtime up since {started:O})");
        if (input.Fail is { Length: > 0 } reason)
        {
            throw new InvalidOperationException($"asked to fail: {reason}");
        }

        return new Reply($"Hello from .NET, {input.Name ?? "world"}!", context.AwsRequestId);
    }
}
