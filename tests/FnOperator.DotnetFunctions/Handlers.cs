using System.Text;
using System.Text.Json;
using Amazon.Lambda.Core;
using YamlDotNet.Serialization;

namespace FnOperator.DotnetFunctions;

public sealed record Order(string? Id, int Quantity, string? Note);

public sealed record Reply(string Message, string RequestId, int Constructed, int Calls);

public sealed record ContextInfo(string AwsRequestId, string FunctionName, string FunctionVersion, string InvokedFunctionArn,
    int MemoryLimitInMB, double RemainingMs, string LogGroupName, bool HasClientContext);

/// <summary>One handler per shape Lambda's .NET runtime supports.</summary>
public sealed class Handlers
{
    private static int constructed;
    private int calls;

    public Handlers() => Interlocked.Increment(ref constructed);

    public static Stream Echo(Stream input)
    {
        using var reader = new StreamReader(input);
        return new MemoryStream(Encoding.UTF8.GetBytes("echo:" + reader.ReadToEnd()));
    }

    public string Upper(string input, ILambdaContext context) => input.ToUpperInvariant();

    public async Task<Reply> PocoAsync(Order order, ILambdaContext context)
    {
        await Task.Delay(10);
        calls++;
        return new Reply($"{order.Quantity} x {order.Id}", context.AwsRequestId, constructed, calls);
    }

    public string Yaml(Order order) => new SerializerBuilder().Build().Serialize(order).Trim();

    public void Nothing()
    {
    }

    public async Task DelayAsync(ILambdaContext context)
    {
        await Task.Delay(10);
        context.Logger.LogLine("delayed");
    }

    public ContextInfo Context(ILambdaContext context)
    {
        context.Logger.Log("plain-log");
        context.Logger.LogWarning("careful-now");
        Console.WriteLine("console-line");
        Console.Error.WriteLine("stderr-line");
        return new ContextInfo(context.AwsRequestId, context.FunctionName, context.FunctionVersion, context.InvokedFunctionArn,
            context.MemoryLimitInMB, context.RemainingTime.TotalMilliseconds, context.LogGroupName, context.ClientContext is not null);
    }

    public string Fail(Order order) =>
        throw new InvalidOperationException($"cannot take {order.Id}", new ArgumentException("inner cause"));

    public async Task<int> FailAsync()
    {
        await Task.Yield();
        throw new TimeoutException("async failure");
    }

    public void Sleep() => Thread.Sleep(Timeout.Infinite);

    /// <summary>{"id":"pid"}: the runtime's pid; "spam": writes forever; anything else: sleeps forever.</summary>
    public int Lifecycle(Order order)
    {
        if (order.Id == "pid")
        {
            return Environment.ProcessId;
        }

        while (true)
        {
            if (order.Id == "spam")
            {
                Console.WriteLine(new string('x', 200));
            }

            Thread.Sleep(1);
        }
    }

    public static string StaticHello() => "static";

    public void Overloaded(int value)
    {
    }

    public void Overloaded(string value)
    {
    }

    [LambdaSerializer(typeof(ShoutingSerializer))]
    public Order Custom(Order order) => order with { Note = "custom" };
}

/// <summary>A handler type whose constructor (init) fails.</summary>
public sealed class Broken
{
    public Broken() => throw new InvalidDataException("bad configuration");

    public string Handle() => "never";
}

/// <summary>A serializer named by [LambdaSerializer]: camelCase JSON, upper-cased strings on the way out.</summary>
public sealed class ShoutingSerializer : ILambdaSerializer
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public T Deserialize<T>(Stream requestStream) => JsonSerializer.Deserialize<T>(requestStream, Options)!;

    public void Serialize<T>(T response, Stream responseStream)
    {
        var json = JsonSerializer.Serialize(response, Options);
        responseStream.Write(Encoding.UTF8.GetBytes(json.ToUpperInvariant()));
    }
}
