using System.Reflection;
using System.Runtime.ExceptionServices;

namespace FnOperator.DotnetBootstrap;

/// <summary>
/// Calls the handler with the shapes Lambda's .NET runtime supports: no parameter, an input (Stream, or any type the
/// serializer reads, string included), and an optional ILambdaContext last; returning void, Task, a value, Task&lt;T&gt;
/// or a Stream (copied as the response).
/// </summary>
public sealed class HandlerInvoker(MethodInfo method, object? instance, IHandlerSerializer serializer)
{
    private readonly ParameterInfo[] parameters = method.GetParameters();
    private readonly Type resultType = ResultType(method.ReturnType);

    /// <summary>Amazon.Lambda.Core.ILambdaContext, found by name: the function brings its own copy of the interface.</summary>
    public static bool IsContext(Type type) => type.IsInterface && type.FullName == "Amazon.Lambda.Core.ILambdaContext";

    public async Task<byte[]> InvokeAsync(byte[] body, InvocationContext context)
    {
        var args = new object?[parameters.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            var type = parameters[i].ParameterType;
            args[i] = IsContext(type) ? ContextProxy.Create(type, context) : Input(type, body);
        }

        object? returned;
        try
        {
            returned = method.Invoke(instance, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }

        var result = await Await(returned).ConfigureAwait(false);
        return Output(result);
    }

    private object? Input(Type type, byte[] body)
    {
        if (type == typeof(Stream) || type == typeof(MemoryStream))
        {
            return new MemoryStream(body, writable: false);
        }

        using var input = new MemoryStream(body, writable: false);
        return serializer.Deserialize(type, input);
    }

    private byte[] Output(object? result)
    {
        if (resultType == typeof(void))
        {
            return [];
        }

        using var output = new MemoryStream();
        if (result is Stream stream)
        {
            stream.CopyTo(output);
            stream.Dispose();
        }
        else
        {
            serializer.Serialize(resultType, result, output);
        }

        return output.ToArray();
    }

    /// <summary>The awaited value of a Task/Task&lt;T&gt; (or the value itself for a synchronous handler).</summary>
    private static async Task<object?> Await(object? returned)
    {
        if (returned is not Task task)
        {
            return returned;
        }

        await task.ConfigureAwait(false);
        var type = task.GetType();
        return type.IsGenericType && ResultType(type) != typeof(void) ? type.GetProperty("Result")!.GetValue(task) : null;
    }

    /// <summary>T for Task&lt;T&gt;, void for void and Task, else the return type.</summary>
    private static Type ResultType(Type returnType)
    {
        if (returnType == typeof(Task))
        {
            return typeof(void);
        }

        for (var t = returnType; t is not null; t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Task<>))
            {
                var result = t.GetGenericArguments()[0];
                return result.FullName == "System.Threading.Tasks.VoidTaskResult" ? typeof(void) : result;
            }
        }

        return returnType;
    }
}
