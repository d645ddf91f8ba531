using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FnOperator.DotnetBootstrap;

/// <summary>Turns the event into a handler's input type and its result into the response body.</summary>
public interface IHandlerSerializer
{
    object? Deserialize(Type type, Stream input);

    void Serialize(Type type, object? value, Stream output);
}

/// <summary>
/// The serializer without a [LambdaSerializer] attribute: System.Text.Json set up as Amazon.Lambda.Serialization.SystemTextJson's
/// DefaultLambdaJsonSerializer is: property names as declared (no camelCase), case-insensitive when reading, nulls
/// left out when writing. (Lambda itself refuses non-Stream types without the attribute; this runtime uses this default.)
/// </summary>
public sealed class DefaultJsonSerializer : IHandlerSerializer
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    // The messages of Amazon.Lambda.Serialization.SystemTextJson's serializer, so a bad event reads as it does on Lambda.
    public object? Deserialize(Type type, Stream input)
    {
        try
        {
            return JsonSerializer.Deserialize(input, type, Options);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new JsonSerializerException(type == typeof(string)
                ? $"Error converting the Lambda event JSON payload to a string. JSON strings must be quoted, for example \"Hello World\" in order to be converted to a string: {e.Message}"
                : $"Error converting the Lambda event JSON payload to type {type.FullName}: {e.Message}", e);
        }
    }

    public void Serialize(Type type, object? value, Stream output)
    {
        try
        {
            JsonSerializer.Serialize(output, value, type, Options);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new JsonSerializerException($"Error converting the response object of type {type.FullName} from the Lambda function to JSON: {e.Message}", e);
        }
    }
}

/// <summary>What Amazon.Lambda.Serialization.SystemTextJson throws for an event or result it cannot convert (errorType JsonSerializerException).</summary>
public sealed class JsonSerializerException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The function's own ILambdaSerializer named by `[LambdaSerializer(typeof(X))]` on the handler method or its assembly
/// (Amazon.Lambda.Core.LambdaSerializerAttribute from the function's package): `T Deserialize&lt;T&gt;(Stream)` and
/// `void Serialize&lt;T&gt;(T, Stream)` called by reflection.
/// </summary>
public sealed class ReflectedSerializer(object serializer) : IHandlerSerializer
{
    private readonly MethodInfo deserialize = Find(serializer, "Deserialize", 1);
    private readonly MethodInfo serialize = Find(serializer, "Serialize", 2);

    public static IHandlerSerializer For(MethodInfo method)
    {
        var attribute = FindAttribute(method.GetCustomAttributesData()) ?? FindAttribute(method.DeclaringType!.Assembly.GetCustomAttributesData());
        if (attribute is null)
        {
            return new DefaultJsonSerializer();
        }

        var type = attribute.ConstructorArguments.FirstOrDefault().Value as Type
            ?? throw new LambdaValidationException($"The 'SerializerType' property on attribute class '{attribute.AttributeType.FullName}' is not set.");
        object instance;
        try
        {
            instance = Activator.CreateInstance(type)!;
        }
        catch (MissingMethodException)
        {
            throw new LambdaValidationException($"The indicated serializer '{type.FullName}' does not define a public zero-parameter constructor.");
        }

        return new ReflectedSerializer(instance);
    }

    public object? Deserialize(Type type, Stream input) => Call(deserialize.MakeGenericMethod(type), [input]);

    public void Serialize(Type type, object? value, Stream output) => Call(serialize.MakeGenericMethod(type), [value, output]);

    private object? Call(MethodInfo method, object?[] args)
    {
        try
        {
            return method.Invoke(serializer, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static CustomAttributeData? FindAttribute(IEnumerable<CustomAttributeData> attributes) =>
        attributes.FirstOrDefault(a => a.AttributeType.FullName == "Amazon.Lambda.Core.LambdaSerializerAttribute");

    private static MethodInfo Find(object serializer, string name, int parameters) =>
        serializer.GetType().GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .FirstOrDefault(m => m.Name == name && m.IsGenericMethodDefinition && m.GetParameters().Length == parameters)
        ?? throw new LambdaValidationException($"The '{serializer.GetType().FullName}' class is invalid: it does not implement the 'ILambdaSerializer' interface.");
}
